"""``inc report RUN_DIR``: an HTML page and PNG charts from a run's history.

Charts: score per trial against the target (and the fp32 baseline); score against
latency with the Pareto front of passing trials; ops left in float per trial. The
page links its PNGs (all written to ``RUN_DIR/report/``) and has a trial table.
Needs matplotlib (``pip install 'inc-core[report]'``).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from inc_core.errors import ConfigError
from inc_core.history import HISTORY_FILE, TrialHistory
from inc_core.objectives import pareto_front
from inc_core.trial import Trial


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("inc report needs matplotlib: pip install 'inc-core[report]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_report(run_dir: str | Path) -> Path:
    """Write ``RUN_DIR/report/index.html`` and its charts; return the page's path."""
    run_dir = Path(run_dir)
    if not (run_dir / HISTORY_FILE).exists():
        raise ConfigError(f"{run_dir}: no tuning history here (expected {run_dir / HISTORY_FILE})")
    with TrialHistory.in_run_dir(run_dir) as history:
        trials = history.trials()
        baseline = history.get_meta("baseline") or {}
        result = history.get_meta("result") or {}
    out = run_dir / "report"
    out.mkdir(exist_ok=True)
    plt = _pyplot()
    higher = _higher_is_better(result, baseline)
    charts = {
        "scores.png": _scores_chart(plt, trials, result),
        "pareto.png": _pareto_chart(plt, trials, baseline, higher),
        "float_ops.png": _float_ops_chart(plt, trials),
    }
    for name, figure in charts.items():
        figure.savefig(out / name, dpi=110, bbox_inches="tight")
        plt.close(figure)
    page = out / "index.html"
    page.write_text(_page(run_dir, trials, result, list(charts)), encoding="utf-8")
    return page


def _higher_is_better(result: dict[str, Any], baseline: dict[str, Any]) -> bool:
    target, base = result.get("target_score"), result.get("baseline_score")
    return not (target is not None and base is not None and target > base)


def _scores_chart(plt: Any, trials: list[Trial], result: dict[str, Any]) -> Any:
    figure, axis = plt.subplots(figsize=(7, 3.6))
    done = [t for t in trials if t.score is not None]
    for passed, color, label in ((True, "tab:green", "passed"), (False, "tab:red", "failed goal")):
        chosen = [t for t in done if t.passed is passed]
        axis.scatter([t.number for t in chosen], [t.score for t in chosen], c=color, label=label, s=18)
    failed = [t for t in trials if t.score is None]
    if failed and done:
        low = min(t.score for t in done if t.score is not None)
        axis.scatter([t.number for t in failed], [low] * len(failed), marker="x", c="grey", label="error")
    if result.get("target_score") is not None:
        axis.axhline(result["target_score"], color="tab:orange", linestyle="--", label="target")
    if result.get("baseline_score") is not None:
        axis.axhline(result["baseline_score"], color="tab:blue", linestyle=":", label="fp32 baseline")
    axis.set(xlabel="trial", ylabel="score", title="Score per trial")
    axis.legend(fontsize=8)
    return figure


def _pareto_chart(plt: Any, trials: list[Trial], baseline: dict[str, Any], higher: bool) -> Any:
    figure, axis = plt.subplots(figsize=(7, 3.6))
    timed = [t for t in trials if t.latency is not None and t.score is not None]
    axis.scatter([_ms(t) for t in timed], [t.score for t in timed], c="tab:grey", s=18, label="trials")
    front = sorted(pareto_front(timed, higher), key=_ms)
    if front:
        axis.plot([_ms(t) for t in front], [t.score for t in front], "o-", c="tab:green", label="Pareto front")
    if baseline.get("latency"):
        axis.axvline(baseline["latency"] * 1e3, color="tab:blue", linestyle=":", label="fp32 latency")
    axis.set(xlabel="latency (ms)", ylabel="score", title="Score vs latency (passing trials are benchmarked)")
    axis.legend(fontsize=8)
    return figure


def _ms(trial: Trial) -> float:
    return (trial.latency or 0.0) * 1e3


def _float_ops_chart(plt: Any, trials: list[Trial]) -> Any:
    figure, axis = plt.subplots(figsize=(7, 3.0))
    axis.bar([t.number for t in trials], [len(t.config.float_ops()) for t in trials],
             color=["tab:green" if t.passed else "tab:red" for t in trials])  # fmt: skip
    axis.set(xlabel="trial", ylabel="ops in float", title="Ops left in float per trial (green: passed)")
    return figure


def _page(run_dir: Path, trials: list[Trial], result: dict[str, Any], images: list[str]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.6g}"
        return html.escape("-" if value is None else str(value))

    rows = "\n".join(
        "<tr>" + "".join(f"<td>{cell(v)}</td>" for v in (
            t.number, t.stage, t.state.value, t.score, "yes" if t.passed else "no",
            None if t.latency is None else t.latency * 1e3, t.model_size, len(t.config.float_ops()),
            t.error or t.config.summary(),
        )) + "</tr>"
        for t in trials
    )  # fmt: skip
    summary = "".join(f"<li><b>{html.escape(k)}</b>: {cell(v)}</li>" for k, v in result.items())
    figures = "\n".join(f'<figure><img src="{name}" alt="{name}"></figure>' for name in images)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>inc report: {html.escape(str(run_dir))}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px}}img{{max-width:100%}}</style></head>
<body><h1>Tuning report</h1><p>{html.escape(str(run_dir))}</p>
<ul>{summary}</ul>
{figures}
<h2>Trials</h2>
<table><thead><tr><th>#</th><th>stage</th><th>state</th><th>score</th><th>pass</th><th>latency ms</th>
<th>size</th><th>float ops</th><th>config / error</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""
