"""``inc history RUN_DIR``: the trials of a run in 100 columns, ``--trial N`` in full, ``--json`` for tools.

The config column says what each trial changed against trial 1 (the strategy's first
config), so two configs with the same op counts still read differently.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from inc_core.cli.summary import RunSummary, ratio
from inc_core.errors import ConfigError, IncError
from inc_core.history.store import HISTORY_FILE
from inc_core.history.trial import Trial
from inc_core.run.run_dir import RUN_FILE
from inc_core.space.tune_config import TuneConfig

WIDTH = 100


def read_run_yaml(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load((run_dir / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def run_summary(run: dict[str, Any] | None) -> str:
    """One line: model, strategy, criterion, budget (from the run directory's run.yaml)."""
    if not run:
        return "(no run.yaml: tuned from Python)"
    model = run.get("model") or {}
    tuning = run.get("tuning") or {}
    source = (
        model.get("path")
        or f"{model.get('factory')}({', '.join(f'{k}={v}' for k, v in (model.get('args') or {}).items())})"
    )
    loss = tuning.get("tolerable_loss")
    return (
        f"model {source} [{model.get('framework', 'auto')}], strategy {tuning.get('strategy') or 'auto'}, "
        f"{tuning.get('criterion', 'relative')} loss <= {loss}, max_trials {tuning.get('max_trials')}"
    )


def _label(option: Any) -> str:
    return str(option.dtype) if option.is_float else f"{option.dtype}/{option.mode}"


def config_digest(config: TuneConfig, reference: TuneConfig | None, limit: int = 3) -> str:
    """What ``config`` changes against ``reference``: ``fp32: conv1, fc2 · act_algorithm=entropy``."""
    if reference is None or reference is config:
        return config.summary(3).partition(" | ")[0]  # trial 1: its op counts
    changed: dict[str, list[str]] = {}
    for name, option in config.ops.items():
        if reference.ops.get(name) != option:
            detail = _label(option)
            if name in reference.ops and _label(reference.ops[name]) == detail:
                detail = str(option)  # same dtype/mode, other parameters
            changed.setdefault(detail, []).append(name)
    parts = [
        f"{label}: {', '.join(names[:limit])}{f' +{len(names) - limit}' if len(names) > limit else ''}"
        for label, names in changed.items()
    ]
    parts += [f"{k}={v}" for k, v in sorted(config.recipes.items()) if reference.recipes.get(k) != v]
    return " · ".join(parts) if parts else "same as trial 1"


def _row(trial: Trial, base_score: float | None, base_size: int | None, reference: TuneConfig | None) -> list[str]:
    delta = "-"
    if trial.score is not None and base_score:
        delta = f"{(trial.score - base_score) / abs(base_score) * 100:+.2f}%"
    verdict = (
        "[red]error[/red]" if trial.failed else ("[green]pass[/green]" if trial.passed else "[yellow]fail[/yellow]")
    )
    if trial.met:
        verdict = "[bold green]met[/bold green]"
    return [
        str(trial.number),
        escape(trial.stage),
        verdict,
        f"{trial.score:.4g}" if trial.score is not None else "-",
        delta,
        ratio(trial.speedup),
        ratio(trial.compression or (base_size / trial.model_size if base_size and trial.model_size else None)),
        f"{trial.duration:.1f}" if trial.ended_at else "-",
        escape(trial.error or config_digest(trial.config, reference)),
    ]


def _one_trial(trial: Trial, base_score: float | None) -> int:
    data = trial.to_dict()
    data["duration"] = trial.duration
    if trial.score is not None and base_score:
        data["vs_fp32"] = f"{(trial.score - base_score) / abs(base_score) * 100:+.3f}%"
    print(yaml.safe_dump(data, sort_keys=False), end="")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from inc_core.history.store import TrialHistory

    run_dir = Path(args.run_dir)
    history_file = run_dir / HISTORY_FILE
    if not history_file.exists():
        raise IncError(f"{args.run_dir}: no tuning history here (expected {history_file})")
    with TrialHistory(history_file, create=False) as history:
        trials = history.trials()
        baseline = history.get_meta("baseline") or {}
        result = history.get_meta("result")
    run = read_run_yaml(run_dir)
    base_score = result.get("baseline_score") if result else None
    if args.trial is not None:
        chosen = next((t for t in trials if t.number == args.trial), None)
        if chosen is None:
            numbers = f"1..{max(t.number for t in trials)}" if trials else "none yet"
            raise ConfigError(f"--trial: no trial {args.trial} in {run_dir} (trials: {numbers})")
        return _one_trial(chosen, base_score)
    if args.json:
        rows = [{**t.to_dict(), "duration": t.duration, "summary": t.config.summary()} for t in trials]
        data = {"run_dir": str(run_dir), "run": run, "baseline": baseline, "result": result, "trials": rows}
        print(json.dumps(data, indent=2))
        return 0
    console = Console(highlight=False)
    if not console.is_terminal or console.width > WIDTH:
        console.width = WIDTH
    console.print(f"[bold]{escape(str(run_dir))}[/bold]: {escape(run_summary(run))}")
    if result:
        facts = RunSummary.from_dict(result)
        console.print(escape(facts.accuracy()))
    elif baseline:
        console.print(f"fp32 baseline metrics {baseline.get('metrics')}")
    if trials:
        first = min(t.started_at for t in trials)
        last = max(t.ended_at or t.started_at for t in trials)
        console.print(
            f"trials from {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(first))} "
            f"to {time.strftime('%H:%M:%S', time.localtime(last))} ({last - first:.1f} s)"
        )
    table = Table(title=f"{len(trials)} trials (config: changes vs trial 1; in full: --trial N)", expand=False)
    for column in ("#", "stage", "verdict", "score", "vs fp32", "speed", "smaller", "s"):
        table.add_column(column, justify="left" if column in ("stage", "verdict") else "right", no_wrap=True)
    table.columns[1].max_width = 16
    table.add_column("config / error", overflow="fold", ratio=1)
    reference = trials[0].config if trials else None
    for t in trials:
        table.add_row(*_row(t, base_score, result.get("baseline_model_size") if result else None, reference))
    console.print(table)
    if result:
        facts = RunSummary.from_dict(result)
        colour = "green" if facts.met_goal else "red"
        console.print(f"[{colour}]{escape(facts.verdict())}[/{colour}] (stopped: {escape(facts.stop_reason)})")
    else:
        console.print("no result recorded: the run is still going, or it stopped early (resume it with --resume)")
    return 0
