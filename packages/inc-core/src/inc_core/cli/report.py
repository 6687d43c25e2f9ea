"""``inc report RUN_DIR``: one self-contained HTML page (charts embedded as PNG data) from a run's history.

The page opens with what the run achieved in words and ratios (met or not and why,
accuracy fp32 -> tuned against the target, speed-up, size ratio, trials, wall time),
then charts — score per trial; accuracy against latency and against model size, each
with the Pareto front of those two axes; ops left in float — with the chosen trial
marked in each and errored trials drawn apart from trials that failed the goal, then
a table of every trial whose config opens in full. Written to ``RUN_DIR/report/index.html``.
Needs matplotlib (``pip install 'inc-core[report]'``).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inc_core.cli.history import config_digest
from inc_core.cli.summary import RunSummary, duration
from inc_core.config.criterion import better_score, score_key
from inc_core.errors import ConfigError
from inc_core.history.store import HISTORY_FILE, TrialHistory
from inc_core.history.trial import Trial

PASSED, FAILED, ERROR, CHOSEN = "tab:green", "tab:orange", "tab:grey", "black"


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("inc report needs matplotlib: pip install 'inc-core[report]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_report(run_dir: str | Path) -> Path:
    """Write ``RUN_DIR/report/index.html``; return its path."""
    run_dir = Path(run_dir)
    if not (run_dir / HISTORY_FILE).exists():
        raise ConfigError(f"{run_dir}: no tuning history here (expected {run_dir / HISTORY_FILE})")
    with TrialHistory.in_run_dir(run_dir, create=False) as history:
        trials = history.trials()
        result = history.get_meta("result") or {}
    plt = _pyplot()
    higher = _higher_is_better(result)
    chosen = result.get("best_trial")
    charts: list[tuple[str, str]] = [("Score per trial", _png(plt, _scores_chart(plt, trials, result, chosen)))]
    if any(t.latency is not None and t.score is not None for t in trials):
        figure = _front_chart(plt, trials, lambda t: t.latency * 1e3 if t.latency else None, "latency (ms)",
                              result.get("baseline_latency"), 1e3, higher, chosen)  # fmt: skip
        charts.append(("Accuracy vs latency", _png(plt, figure)))
    if any(t.model_size is not None and t.score is not None for t in trials):
        figure = _front_chart(plt, trials, lambda t: t.model_size / 1024 if t.model_size else None, "size (KiB)",
                              result.get("baseline_model_size"), 1 / 1024, higher, chosen)  # fmt: skip
        charts.append(("Accuracy vs model size", _png(plt, figure)))
    charts.append(("Ops left in float", _png(plt, _float_ops_chart(plt, trials, chosen))))
    out = run_dir / "report"
    out.mkdir(exist_ok=True)
    page = out / "index.html"
    page.write_text(_page(run_dir, trials, result, charts), encoding="utf-8")
    return page


def _higher_is_better(result: dict[str, Any]) -> bool:
    target, base = result.get("target_score"), result.get("baseline_score")
    return not (target is not None and base is not None and target > base)


def _png(plt: Any, figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _mark_chosen(axis: Any, x: float, y: float) -> None:
    axis.scatter([x], [y], s=160, facecolors="none", edgecolors=CHOSEN, linewidths=1.8, zorder=5, label="chosen")


def _scores_chart(plt: Any, trials: list[Trial], result: dict[str, Any], chosen: int | None) -> Any:
    figure, axis = plt.subplots(figsize=(7, 3.6))
    scored = [t for t in trials if t.score is not None and not t.failed]
    for passed, color, label in ((True, PASSED, "passed"), (False, FAILED, "failed the goal")):
        group = [t for t in scored if t.passed is passed]
        axis.scatter([t.number for t in group], [t.score for t in group], c=color, label=label, s=22)
    errored = [t for t in trials if t.failed]
    if errored:
        low = min((t.score for t in scored if t.score is not None), default=result.get("target_score") or 0.0)
        axis.scatter([t.number for t in errored], [low] * len(errored), marker="x", c=ERROR, s=40,
                     label="error (no score)")  # fmt: skip
    if result.get("target_score") is not None:
        axis.axhline(result["target_score"], color="tab:red", linestyle="--", label="target")
    if result.get("baseline_score") is not None:
        axis.axhline(result["baseline_score"], color="tab:blue", linestyle=":", label="fp32")
    best = next((t for t in scored if t.number == chosen), None)
    if best is not None and best.score is not None:
        _mark_chosen(axis, best.number, best.score)
    axis.set(xlabel="trial", ylabel="score", title="Score per trial")
    _integer_ticks(axis.xaxis)
    axis.legend(fontsize=8, loc="best")
    return figure


def front_2d(points: list[tuple[float, float, Trial]], higher: bool) -> list[tuple[float, float, Trial]]:
    """Points not dominated on (lower x, better score), in increasing x."""
    front: list[tuple[float, float, Trial]] = []
    for x, score, trial in sorted(points, key=lambda p: (p[0], score_key(p[1], higher))):
        if not front or better_score(score, front[-1][1], higher):
            front.append((x, score, trial))
    return front


def _front_chart(
    plt: Any,
    trials: list[Trial],
    x_of: Callable[[Trial], float | None],
    x_label: str,
    fp32: float | None,
    scale: float,
    higher: bool,
    chosen: int | None,
) -> Any:
    figure, axis = plt.subplots(figsize=(7, 3.6))
    points = [(x, t.score, t) for t in trials if t.score is not None and (x := x_of(t)) is not None]
    for passed, color, label in ((True, PASSED, "passed"), (False, FAILED, "failed the goal")):
        group = [p for p in points if p[2].passed is passed]
        axis.scatter([p[0] for p in group], [p[1] for p in group], c=color, s=22, label=label)
    front = front_2d([p for p in points if p[2].passed], higher)
    if front:
        axis.step([p[0] for p in front], [p[1] for p in front], where="post", c=PASSED, alpha=0.6,
                  label="Pareto front (passing)")  # fmt: skip
    if fp32:
        axis.axvline(fp32 * scale, color="tab:blue", linestyle=":", label="fp32")
    best = next((p for p in points if p[2].number == chosen), None)
    if best is not None:
        _mark_chosen(axis, best[0], best[1])
    axis.set(xlabel=x_label, ylabel="score", title=f"Score vs {x_label.split(' ')[0]} (left and up is better)")
    axis.legend(fontsize=8, loc="best")
    return figure


def _float_ops_chart(plt: Any, trials: list[Trial], chosen: int | None) -> Any:
    figure, axis = plt.subplots(figsize=(7, 3.0))
    colors = [ERROR if t.failed else PASSED if t.passed else FAILED for t in trials]
    edges = [CHOSEN if t.number == chosen else "none" for t in trials]
    axis.bar([t.number for t in trials], [len(t.config.float_ops()) for t in trials], color=colors,
             edgecolor=edges, linewidth=1.8)  # fmt: skip
    axis.set(xlabel="trial", ylabel="ops in float",
             title="Ops left in float (green passed, orange failed, grey error, outlined: chosen)")  # fmt: skip
    _integer_ticks(axis.xaxis)
    _integer_ticks(axis.yaxis)
    axis.set_ylim(bottom=0, top=max([len(t.config.float_ops()) for t in trials] + [1]) * 1.1)
    return figure


def _integer_ticks(axis: Any) -> None:
    """Trial numbers and op counts are whole: no 0.96, 0.98 ... ticks around a single trial."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _header(result: dict[str, Any], trials: list[Trial]) -> str:
    if not result:
        return "<p class='verdict no'>No result recorded: the run is still going, or it stopped early.</p>"
    facts = RunSummary.from_dict(result)
    wall = 0.0
    if trials:
        wall = max(t.ended_at or t.started_at for t in trials) - min(t.started_at for t in trials)
    counted = f"{facts.trials} trial{'s' if facts.trials != 1 else ''}"
    items = [facts.accuracy(), facts.speed(), facts.size(), f"{counted} in {duration(wall)}"]
    if facts.met_goal:
        items.append(f"stopped: {facts.stop_reason}")
    verdict = f"<p class='verdict {'yes' if facts.met_goal else 'no'}'>{html.escape(facts.verdict())}</p>"
    return verdict + "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


def _row(trial: Trial, chosen: int | None, reference: Any, base_score: float | None) -> str:
    import yaml

    verdict = "error" if trial.failed else ("passed" if trial.passed else "failed")
    delta = "-"
    if trial.score is not None and base_score:
        delta = f"{(trial.score - base_score) / abs(base_score) * 100:+.2f}%"
    cells = [
        str(trial.number),
        html.escape(trial.stage),
        verdict + (" (chosen)" if trial.number == chosen else ""),
        "-" if trial.score is None else f"{trial.score:.4g}",
        delta,
        "-" if trial.latency is None else f"{trial.latency * 1e3:.3g}",
        "-" if trial.model_size is None else f"{trial.model_size / 1024:.1f}",
    ]
    full = html.escape(yaml.safe_dump(trial.config.to_dict(), sort_keys=False))
    what = html.escape(trial.error or config_digest(trial.config, reference))
    cells.append(f"{what}<details><summary>full config</summary><pre>{full}</pre></details>")
    css = f"{verdict}{' chosen' if trial.number == chosen else ''}"
    return f"<tr id='trial-{trial.number}' class='{css}'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
.verdict{font-size:1.3em;font-weight:600}.verdict.yes{color:#17803d}.verdict.no{color:#b42318}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:3px 6px;font-size:13px;
vertical-align:top;text-align:left}tr.chosen{background:#eef8f0;font-weight:600}tr.error td{color:#777}
tr.failed td:nth-child(3){color:#b54708}img{max-width:100%}figure{margin:1em 0}pre{font-size:12px}"""


def _page(
    run_dir: Path,
    trials: list[Trial],
    result: dict[str, Any],
    charts: list[tuple[str, str]],
) -> str:
    chosen = result.get("best_trial")
    reference = trials[0].config if trials else None
    rows = "\n".join(_row(t, chosen, reference, result.get("baseline_score")) for t in trials)
    link = f" (chosen: <a href='#trial-{chosen}'>trial {chosen}</a>)" if chosen else ""
    figures = "\n".join(
        f"<figure><img src='{src}' alt='{html.escape(title)}'>"
        f"<figcaption>{html.escape(title)}{link}</figcaption></figure>"
        for title, src in charts
    )
    title = html.escape(str(run_dir))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>inc report: {title}</title><style>{STYLE}</style></head>
<body><h1>Tuning report</h1><p>{title}</p>
{_header(result, trials)}
{figures}
<h2>Trials</h2>
<table><thead><tr><th>#</th><th>stage</th><th>verdict</th><th>score</th><th>vs fp32</th><th>latency ms</th>
<th>size KiB</th><th>config (changes vs trial 1) / error</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""
