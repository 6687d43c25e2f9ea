"""``inc tune``'s arguments: a run file or a model with flags, tuning and adaptor overrides, the resume hint.

``inc tune run.yaml`` reads a run file; ``inc tune MODEL.onnx --eval module:function
--calib data.npz`` builds the same run spec from flags (every error then names the flag).
Either way ``--strategy``, ``--tolerable-loss``... override the tuning section and
``--threads``, ``--provider``... the adaptor options, and the resolved run is written
to the run directory as ``run.yaml``.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from inc_core.cli.resolve_run import ADAPTOR_FLAGS
from inc_core.cli.run_errors import format_errors
from inc_core.cli.run_file import load_run_file, tuning_config
from inc_core.cli.run_schema import Key, RunFile, RunSpec
from inc_core.errors import ConfigError

RUN_FILE_SUFFIXES = (".yaml", ".yml")
TUNING_FLAGS = {
    "strategy": "--strategy",
    "tolerable_loss": "--tolerable-loss",
    "criterion": "--criterion",
    "max_trials": "--max-trials",
    "timeout": "--timeout",
    "executor": "--executor",
    "workers": "--workers",
}
"""TuningConfig fields with a flag on ``inc tune`` (they override a run file's ``tuning`` section)."""


def add_tune_arguments(tune: argparse.ArgumentParser) -> None:
    """The flags of ``inc tune`` besides ``--resume``/``--overwrite``/``--json``."""
    tune.add_argument("config", metavar="RUN_FILE|MODEL", help="a YAML run file, or a model file to tune with flags")
    quick = tune.add_argument_group("tuning a model without a run file")
    quick.add_argument("--eval", metavar="MODULE:FUNCTION", help="the score function (file.py:function works too)")
    quick.add_argument("--calib", metavar="DATA", help="calibration data: an .npz file or module:function")
    quick.add_argument("--framework", help="the adaptor to use (default: the first installed one that accepts MODEL)")
    quick.add_argument("--objective", choices=("latency", "model_size"), help="what to improve (default latency)")
    tuning = tune.add_argument_group("tuning (override a run file's tuning section)")
    tuning.add_argument("--strategy", help="tuning strategy (default auto; see `inc strategies`)")
    tuning.add_argument("--tolerable-loss", type=float, metavar="LOSS", help="accuracy loss allowed (default 0.01)")
    tuning.add_argument("--criterion", choices=("relative", "absolute"), help="how the loss is measured")
    tuning.add_argument("--max-trials", type=int, metavar="N", help="trial budget (default 100)")
    tuning.add_argument("--timeout", type=float, metavar="SECONDS", help="0: stop at the first config meeting the goal")
    tuning.add_argument(
        "--executor",
        metavar="EXECUTOR",
        help="where trials run: inline (default) or another form `inc plugins` lists under executors",
    )
    tuning.add_argument("--workers", type=int, metavar="N", help="trials run in parallel (default 1)")
    tuning.add_argument("--run-dir", help="where the history and best model go (overrides the run file's run_dir)")
    adaptor = tune.add_argument_group("adaptor options (override a run file's adaptor section)")
    adaptor.add_argument("--threads", type=int, metavar="N", help="threads the adaptor benchmarks with")
    adaptor.add_argument(
        "--provider", action="append", metavar="NAME", help="ONNX Runtime execution provider (repeatable, in order)"
    )
    adaptor.add_argument(
        "--example-inputs", metavar="MODULE:FUNCTION", help="torch: a function returning the inputs to export with"
    )
    adaptor.add_argument(
        "--adaptor-option",
        action="append",
        metavar="KEY=VALUE",
        default=[],
        help="any other adaptor option (VALUE is read as YAML), e.g. --adaptor-option warmup=5",
    )


def is_run_file(target: str) -> bool:
    return Path(target).suffix.lower() in RUN_FILE_SUFFIXES


class FlagRun(RunFile):
    """A run spec built from ``inc tune MODEL --eval ...``: messages name flags instead of file lines."""

    def describe(self) -> str:
        return "The inc tune command line"

    @property
    def base(self) -> Path:
        return Path.cwd()

    def at(self, key: Key) -> str:
        return _flag(key)

    def where(self, key: Key) -> str:
        return _flag(key)


def _flag(key: Key) -> str:
    section, name = (*key, "", "")[:2]
    if section == "model":
        return "--framework" if name == "framework" else "MODEL"
    if section == "evaluation":
        return "--eval"
    if section == "calibration":
        return "--calib"
    if section == "tuning" and name == "objectives":
        return "--objective"
    if section == "tuning":
        return TUNING_FLAGS.get(str(name), f"tuning.{name}")
    if section == "adaptor":
        return ADAPTOR_FLAGS.get(str(name), f"--adaptor-option {name}")
    return "inc tune"


def load_run(args: argparse.Namespace) -> RunFile:
    """The run file named by ``args.config``, or the run spec the flags describe."""
    quick_flags = [flag for flag in ("eval", "calib", "framework", "objective") if getattr(args, flag) is not None]
    if is_run_file(args.config):
        if quick_flags:
            raise ConfigError(f"--{quick_flags[0]}: only used when tuning a model file without a run file")
        return load_run_file(args.config)
    if args.eval is None:
        raise ConfigError(
            f"{args.config}: not a run file (.yaml); to tune this model directly give --eval MODULE:FUNCTION "
            "(and --calib DATA for static quantization)"
        )
    model = Path(args.config)
    data: dict[str, Any] = {
        "model": {"path": str(model), "framework": args.framework or "auto"},
        "evaluation": {"function": args.eval},
        "run_dir": str(Path("inc_runs") / model.stem),
    }
    if args.calib is not None:
        data["calibration"] = args.calib
    if args.objective is not None:
        data["tuning"] = {"objectives": {args.objective: 1.0}}
    run = FlagRun(RunSpec.model_construct(), Path("inc tune"), {})
    try:
        run.spec = RunSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, run)) from None
    tuning_config(run, run_dir=None)
    return run


def tuning_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """TuningConfig fields set by flags."""
    return {name: getattr(args, name) for name in TUNING_FLAGS if getattr(args, name) is not None}


def adaptor_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Adaptor options set by flags (``--adaptor-option KEY=VALUE`` values are YAML)."""
    options: dict[str, Any] = {}
    for item in args.adaptor_option:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--adaptor-option: expected KEY=VALUE (got {item!r})")
        try:
            options[key.strip()] = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--adaptor-option {key.strip()}: {text!r} is not a YAML value: {exc}") from None
    if args.threads is not None:
        options["threads"] = args.threads
    if args.provider:
        options["providers"] = list(args.provider)
    if args.example_inputs is not None:
        options["example_inputs"] = {"function": args.example_inputs}
    return options


def resume_command(argv: list[str], run_dir: Path) -> str:
    """The command that continues this run: the same arguments with ``--run-dir`` spelled out and ``--resume``."""
    kept: list[str] = []
    skip = False
    for item in argv:
        if skip:
            skip = False
            continue
        if item in ("--run-dir",):
            skip = True
            continue
        if item.startswith("--run-dir=") or item in ("--overwrite", "--resume"):
            continue
        kept.append(item)
    return shlex.join(["inc", *kept, "--run-dir", str(run_dir), "--resume"])
