"""The ``inc`` command: ``inc tune``, ``inc plugins``, ``inc strategies``, ``inc history``.

Human output goes to stderr (rich); ``--json`` puts a machine-readable summary on
stdout. Exit status: 0 goal met, 1 goal not met, 2 bad input (including a history
that cannot be read completely, or a run directory another process holds), 3 internal
error (a bug in inc or a plugin: the traceback is printed).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from inc_core.errors import BaselineError, ConfigError, IncError

EXIT_GOAL_NOT_MET = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL_ERROR = 3
EXIT_INTERRUPTED = 130


def _console() -> Console:
    return Console(stderr=True, highlight=False)


def cmd_plugins(args: argparse.Namespace) -> int:
    from inc_core.plugins.manager import get_plugin_manager

    pm = get_plugin_manager()
    if args.json:
        data = {
            "strategies": [{"name": r.name, "distribution": r.source} for r in pm.strategies],
            "adaptors": [{"name": r.name, "distribution": r.source} for r in pm.adaptors],
            "executors": [
                {"name": r.name, "distribution": r.source, "forms": list(r.cls.forms)}  # type: ignore[attr-defined]
                for r in pm.executors.in_order()
            ],
            "failed": [{"entry_point": e, "distribution": d, "error": err} for e, d, err in pm.report.failed],
        }
        print(json.dumps(data, indent=2))
        return 0
    console = Console()
    for title, registrations in (
        ("Strategies", list(pm.strategies)),
        ("Adaptors", list(pm.adaptors)),
        ("Executors", pm.executors.in_order()),
    ):
        table = Table(title=title)
        table.add_column("name")
        table.add_column("distribution")
        table.add_column("description")
        for registration in registrations:
            table.add_row(registration.name, registration.source, registration.description)
        console.print(table)
    for entry_point, dist, error in pm.report.failed:
        console.print(f"[red]failed to load[/red] plugin {entry_point!r} from {dist}: {error}")
    return 0


def cmd_strategies(args: argparse.Namespace) -> int:
    from inc_core.plugins.manager import get_plugin_manager

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


_SPACE_KEYS = ("op_type_dict", "op_name_dict", "global_constraint", "recipes")


def _check_space(run_file: Any, tuning_run: Any, model_key: tuple[str, str]) -> None:
    """Build the tuning space once so a constraint the model cannot meet is bad input, not a failed run."""
    from inc_core.run.setup import build_space

    config = tuning_run.config
    try:
        build_space(tuning_run.adaptor, tuning_run.model, config)
    except ConfigError as exc:
        message = str(exc)
        key = next((k for k in _SPACE_KEYS if message.startswith(k)), None)
        if key is None:
            given = [k for k in _SPACE_KEYS if getattr(config, k)]
            key = given[0] if len(given) == 1 else None
        where = run_file.at(("tuning", key)) if key else run_file.at(("tuning",))
        raise ConfigError(
            f"{where}: tuning.{message if message.startswith(str(key)) else f'{key}: {message}'}"
        ) from None
    except IncError as exc:
        raise run_file.error(model_key, str(exc)) from None
    except Exception as exc:
        raise run_file.error(model_key, f"listing its ops failed: {type(exc).__name__}: {exc}") from None


def cmd_tune(args: argparse.Namespace) -> int:
    """Validate everything, then write ``run.yaml`` and tune; nothing is written on bad input."""
    from inc_core.adaptor.base import Calibration
    from inc_core.cli.args import adaptor_overrides, load_run, resume_command, tuning_overrides
    from inc_core.cli.logs import foreign_logs_into
    from inc_core.cli.progress import TuningProgress, progress_wanted
    from inc_core.cli.resolve_run import resolve_run
    from inc_core.plugins.manager import get_plugin_manager
    from inc_core.run import run_dir as run_dirs
    from inc_core.run.runner import TuningRun

    if args.overwrite and args.resume:
        raise ConfigError("--overwrite and --resume: choose one (replace the run directory, or continue it)")
    run_file = load_run(args)
    run_dir = Path(args.run_dir).resolve() if args.run_dir else (run_file.base / run_file.spec.run_dir).resolve()
    pm = get_plugin_manager()
    resolved = resolve_run(run_file, run_dir, tuning_overrides(args), pm, adaptor_overrides(args))
    if args.overwrite:
        run_dirs.check_overwrite(run_dir)
    else:
        run_dirs.check_run_dir(run_dir, args.resume, strict=True, resume_flag="--resume")
    model_key = ("model", "path") if run_file.spec.model.path is not None else ("model", "factory")
    try:
        tuning_run = TuningRun(
            resolved.model,
            resolved.tuning,
            resolved.eval_fn,
            calibration=Calibration(data=resolved.calib_data),
            adaptor=resolved.adaptor,
            resume=args.resume,
            plugin_manager=pm,
        )
    except IncError as exc:
        raise run_file.error(model_key, str(exc)) from None
    except Exception as exc:  # the adaptor could not read the model file
        raise run_file.error(model_key, f"loading the model failed: {type(exc).__name__}: {exc}") from None

    try:
        _check_space(run_file, tuning_run, model_key)
        try:
            tuning_run.check()  # calibration data, strategy options, executor: before anything is written
        except ConfigError as exc:
            if not str(exc).startswith("calibration data"):
                raise
            raise ConfigError(f"{run_file.where(('calibration',))}: {exc}") from None
        if args.overwrite:
            run_dirs.clear_run_dir(run_dir)
        tuning_run.lock_run_dir()  # one writer per run directory, before run.yaml is (re)written
    except IncError:
        tuning_run.adaptor.close()
        raise
    (run_dir / run_dirs.RUN_FILE).write_text(resolved.resolved_yaml(), encoding="utf-8")
    progress = TuningProgress() if progress_wanted() else None
    if progress is not None:
        pm.register(progress, name="inc-progress")
    started = time.monotonic()
    try:
        with foreign_logs_into(run_dir / run_dirs.LOG_FILE):
            result = tuning_run.run()
    except BaselineError as exc:  # the evaluation cannot score the fp32 model: bad input, keep only the log
        if not args.resume:
            run_dirs.forget_run(run_dir)
        raise BaselineError(
            f"{run_file.where(('evaluation', 'function'))}: {exc} (details in {run_dir / run_dirs.LOG_FILE})"
        ) from exc
    except ConfigError as exc:  # bad input found once the model runs (e.g. calibration data that does not fit it)
        if not args.resume:
            run_dirs.forget_run(run_dir)
        where = run_file.where(("calibration",)) if str(exc).startswith("calibration data") else str(run_dir)
        raise ConfigError(f"{where}: {exc} (details in {run_dir / run_dirs.LOG_FILE})") from exc
    except KeyboardInterrupt:
        print(f"inc: interrupted; continue with: {resume_command(args.argv, run_dir)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if progress is not None:
            progress.close()
            pm.unregister(progress)
    summary = {**result.summary(), "elapsed_s": round(time.monotonic() - started, 3)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    return 0 if result.met_goal else EXIT_GOAL_NOT_MET


def _print_summary(summary: dict[str, Any]) -> None:
    """The end of ``inc tune``: verdict, accuracy delta, speed-up and size ratio vs fp32, where things are."""
    from inc_core.cli.summary import RunSummary, duration

    console = _console()
    facts = RunSummary.from_dict(summary)
    lines = facts.lines()
    colour = "green" if facts.met_goal else "red"
    console.print(f"[{colour}]{escape(lines[0])}[/{colour}] ({duration(summary['elapsed_s'])})")
    for line in lines[1:]:
        console.print(escape(line))
    console.print(f"run directory: {summary['run_dir']} (inc history / inc report show every trial)")


def cmd_report(args: argparse.Namespace) -> int:
    from inc_core.cli.report import write_report

    page = write_report(args.run_dir)
    print(page)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from inc_core.cli.apply import add_apply_parser
    from inc_core.cli.args import add_tune_arguments
    from inc_core.cli.history import cmd_history

    parser = argparse.ArgumentParser(
        prog="inc",
        description="Accuracy-aware quantization tuning.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # also keeps --version on one line
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every trial to stderr")
    parser.add_argument("--version", action="version", version=versions(), help="print the inc versions and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    tune = sub.add_parser(
        "tune",
        help="tune a model: from a YAML run file, or a model file with --eval and --calib",
        description="inc tune RUN_FILE.yaml [flags]  |  inc tune MODEL --eval MODULE:FUNCTION [--calib DATA] [flags]",
    )
    add_tune_arguments(tune)
    tune.add_argument("--resume", action="store_true", help="continue the history in the run directory")
    tune.add_argument("--overwrite", action="store_true", help="replace a finished run directory (deletes it)")
    tune.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    tune.set_defaults(func=cmd_tune)
    plugins = sub.add_parser("plugins", help="list strategies, adaptors and executors found, with their distributions")
    plugins.add_argument("--json", action="store_true")
    plugins.set_defaults(func=cmd_plugins)
    strategies = sub.add_parser("strategies", help="list strategies with a one-line description")
    strategies.add_argument("--json", action="store_true")
    strategies.set_defaults(func=cmd_strategies)
    history = sub.add_parser("history", help="table of the trials in a run directory")
    history.add_argument("run_dir")
    history.add_argument("--json", action="store_true", help="every trial with its full config, as JSON")
    history.add_argument("--trial", type=int, metavar="N", help="one trial in full: metrics, measurements, config")
    history.set_defaults(func=cmd_history)
    report = sub.add_parser("report", help="write an HTML page and PNG charts for a run directory")
    report.add_argument("run_dir")
    report.set_defaults(func=cmd_report)
    add_apply_parser(sub)
    from inc_core.plugins.manager import get_plugin_manager

    get_plugin_manager().hook.inc_register_commands(subparsers=sub)  # commands of installed plugins
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


def versions() -> str:
    """``inc 0.1.0 (inc-core 0.1.0, inc-onnx 0.1.0, ...)``: the installed inc distributions."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for dist in ("inc-core", "inc-strategies", "inc-onnx", "inc-torch"):
        try:
            found.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            continue
    from inc_core import __version__

    return f"inc {__version__} ({', '.join(found) or 'inc-core from source'})"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    _configure_logging(args.verbose)
    try:
        return int(args.func(args))
    except IncError as exc:
        return _report_error(args, EXIT_BAD_INPUT, str(exc).splitlines() or [type(exc).__name__])
    except Exception as exc:  # not bad input: a bug, reported with its traceback and its own exit status
        import traceback

        traceback.print_exc(file=sys.stderr)
        return _report_error(args, EXIT_INTERNAL_ERROR, [f"internal error: {type(exc).__name__}: {exc}"])


def _report_error(args: argparse.Namespace, status: int, problems: list[str]) -> int:
    for line in problems:
        print(f"inc: error: {line}", file=sys.stderr)
    if getattr(args, "json", False):  # tools reading stdout get the problems too
        print(json.dumps({"exit_status": status, "errors": problems}, indent=2))
    return status
