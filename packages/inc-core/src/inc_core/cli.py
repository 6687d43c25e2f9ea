"""The ``inc`` command: ``inc tune``, ``inc plugins``, ``inc strategies``, ``inc history``.

Human output goes to stderr (rich); ``--json`` puts a machine-readable summary on
stdout. Exit status: 0 goal met, 1 goal not met, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from inc_core.errors import IncError

EXIT_GOAL_NOT_MET = 1
EXIT_BAD_INPUT = 2


def _console() -> Console:
    return Console(stderr=True)


def cmd_plugins(args: argparse.Namespace) -> int:
    from inc_core.plugins import get_plugin_manager

    pm = get_plugin_manager()
    if args.json:
        data = {
            "strategies": [{"name": r.name, "distribution": r.source} for r in pm.strategies],
            "adaptors": [{"name": r.name, "distribution": r.source} for r in pm.adaptors],
            "failed": [{"entry_point": e, "distribution": d, "error": err} for e, d, err in pm.report.failed],
        }
        print(json.dumps(data, indent=2))
        return 0
    console = Console()
    for title, registry in (("Strategies", pm.strategies), ("Adaptors", pm.adaptors)):
        table = Table(title=title)
        table.add_column("name")
        table.add_column("distribution")
        table.add_column("description")
        for registration in registry:
            table.add_row(registration.name, registration.source, registration.description)
        console.print(table)
    for entry_point, dist, error in pm.report.failed:
        console.print(f"[red]failed to load[/red] plugin {entry_point!r} from {dist}: {error}")
    return 0


def cmd_strategies(args: argparse.Namespace) -> int:
    from inc_core.plugins import get_plugin_manager

    pm = get_plugin_manager()
    rows = [(r.name, r.source, r.description) for r in pm.strategies]
    if args.json:
        print(json.dumps([{"name": n, "distribution": d, "description": t} for n, d, t in rows], indent=2))
        return 0
    table = Table(title="Strategies")
    for column in ("name", "distribution", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console().print(table)
    return 0


def _load_model_and_adaptor(spec: Any, base: Path) -> tuple[Any, str | None]:
    from inc_core.run_spec import resolve_reference

    framework = None if spec.model.framework == "auto" else spec.model.framework
    if spec.model.path is not None:
        path = (base / spec.model.path).resolve()
        if not path.exists():
            raise IncError(f"model.path: no such file {path}")
        return path, framework
    factory = resolve_reference(spec.model.factory, "model.factory", base)
    return factory(**spec.model.args), framework


def cmd_tune(args: argparse.Namespace) -> int:
    from inc_core.api import autotune
    from inc_core.plugins import get_plugin_manager
    from inc_core.run_spec import build_tuning_config, load_run_spec, resolve_reference

    spec, base = load_run_spec(args.config)
    run_dir = Path(args.run_dir) if args.run_dir else (base / spec.run_dir)
    if (run_dir / "history.sqlite").exists() and not args.resume:
        raise IncError(
            f"run directory {run_dir} already exists; pass --resume to continue it or choose another run_dir"
        )
    overrides: dict[str, Any] = {}
    if args.executor:
        overrides["executor"] = args.executor
    if args.workers:
        overrides["workers"] = args.workers
    tuning = build_tuning_config(spec, Path(args.config), run_dir, overrides)
    get_plugin_manager().strategies.get(tuning.strategy_name)  # fail before writing anything
    eval_fn = resolve_reference(spec.evaluation.function, "evaluation.function", base)
    if spec.evaluation.args:
        import functools

        eval_fn = functools.partial(eval_fn, **spec.evaluation.args)
    calib: Any = None
    if spec.calibration is not None:
        if ":" in spec.calibration and not spec.calibration.endswith(".npz"):
            calib = resolve_reference(spec.calibration, "calibration", base)()
        else:
            calib = (base / spec.calibration).resolve()
            if not calib.exists():
                raise IncError(f"calibration: no such file {calib}")
    model, adaptor = _load_model_and_adaptor(spec, base)
    run_dir.mkdir(parents=True, exist_ok=True)
    resolved = {
        **spec.model_dump(),
        "tuning": tuning.model_dump(mode="json", exclude={"config_set", "sampler", "executor"}),
    }
    (run_dir / "run.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False), encoding="utf-8")
    result = autotune(model, tuning, eval_fn, calib_data=calib, adaptor=adaptor, resume=args.resume)
    summary = result.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        console = _console()
        verdict = "[green]goal met[/green]" if result.met_goal else "[red]goal NOT met[/red]"
        console.print(f"{verdict}: {summary['stop_reason']} after {summary['trials']} trials")
        console.print(
            f"baseline {result.baseline_score:.6g}, target {result.target_score:.6g}, best {summary['best_score']}"
        )
        console.print(f"best config: {summary['best_config_summary']}")
        console.print(f"run directory: {result.run_dir}")
    return 0 if result.met_goal else EXIT_GOAL_NOT_MET


def cmd_history(args: argparse.Namespace) -> int:
    from inc_core.history import TrialHistory

    history_file = Path(args.run_dir) / "history.sqlite"
    if not history_file.exists():
        raise IncError(f"{args.run_dir}: no tuning history here (expected {history_file})")
    with TrialHistory(history_file) as history:
        trials = history.trials()
    if args.json:
        print(json.dumps([t.to_dict() for t in trials], indent=2))
        return 0
    table = Table(title=f"Trials in {args.run_dir}")
    for column in ("#", "stage", "state", "score", "pass", "latency ms", "size", "config"):
        table.add_column(column)
    for t in trials:
        table.add_row(
            str(t.number),
            t.stage,
            t.state.value,
            f"{t.score:.6g}" if t.score is not None else "-",
            "yes" if t.passed else "no",
            f"{t.latency * 1e3:.3f}" if t.latency is not None else "-",
            str(t.model_size) if t.model_size is not None else "-",
            t.error or t.config.summary(),
        )
    Console().print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inc", description="Accuracy-aware quantization tuning.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every trial to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    tune = sub.add_parser("tune", help="tune the model described by a YAML run file")
    tune.add_argument("config", help="the YAML run file")
    tune.add_argument("--resume", action="store_true", help="continue the history in the run directory")
    tune.add_argument("--executor", help="where trials run: inline (default) or threads")
    tune.add_argument("--workers", type=int, help="parallel trials")
    tune.add_argument("--run-dir", help="override run_dir from the YAML")
    tune.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    tune.set_defaults(func=cmd_tune)
    plugins = sub.add_parser("plugins", help="list strategies and adaptors found, with their distributions")
    plugins.add_argument("--json", action="store_true")
    plugins.set_defaults(func=cmd_plugins)
    strategies = sub.add_parser("strategies", help="list strategies with a one-line description")
    strategies.add_argument("--json", action="store_true")
    strategies.set_defaults(func=cmd_strategies)
    history = sub.add_parser("history", help="table of the trials in a run directory")
    history.add_argument("run_dir")
    history.add_argument("--json", action="store_true")
    history.set_defaults(func=cmd_history)
    return parser


def _configure_logging(verbose: bool) -> None:
    """The run's log file always gets every trial; stderr gets warnings, or everything with -v."""
    inc_logger = logging.getLogger("inc")
    inc_logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.INFO if verbose else logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    inc_logger.addHandler(handler)
    inc_logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return int(args.func(args))
    except IncError as exc:
        print(f"inc: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
