"""``inc apply RUN_DIR|best_config.yaml MODEL -o OUT``: re-create a tuned model from a saved config.

The config's ops are checked against the model's before anything is quantized: an op
the model lacks, or an option its op does not offer, is bad input naming the op.
From a run directory, the calibration data and adaptor options of its ``run.yaml``
are used unless flags say otherwise. ``module:function`` references (MODEL, ``--calib``,
the run's calibration function and adaptor options) import from the current directory
as ``python -m`` does.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from inc_core.errors import ConfigError, IncError
from inc_core.run.run_dir import BEST_CONFIG_FILE, RUN_FILE


def add_apply_parser(sub: Any) -> None:
    """Register ``inc apply`` on the CLI's subparsers."""
    apply = sub.add_parser("apply", help="quantize a model with a saved config (a run directory or best_config.yaml)")
    apply.add_argument("source", metavar="RUN_DIR|CONFIG", help="a run directory, or a best_config.yaml")
    apply.add_argument("model", metavar="MODEL", help="the float model file (or module:function returning it)")
    apply.add_argument("-o", "--output", required=True, metavar="OUT", help="where the quantized model is written")
    apply.add_argument("--calib", metavar="DATA", help="calibration data (.npz or module:function) for static ops")
    apply.add_argument("--framework", help="the adaptor to use (default: the first installed one that accepts MODEL)")
    apply.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    apply.set_defaults(func=cmd_apply)


def _config_and_run(source: Path) -> tuple[Path, dict[str, Any]]:
    """The config file and (for a run directory) its ``run.yaml`` as a dict."""
    if source.is_dir():
        config = source / BEST_CONFIG_FILE
        if not config.is_file():
            raise ConfigError(f"{source}: no {BEST_CONFIG_FILE} here (a run that met no goal saves none)")
        try:
            run = yaml.safe_load((source / RUN_FILE).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            run = None
        return config, run if isinstance(run, dict) else {}
    if not source.is_file():
        raise ConfigError(f"{source}: no such run directory or config file")
    return source, {}


def _load_config(path: Path) -> Any:
    from inc_core.space.tune_config import TuneConfig

    try:
        return TuneConfig.load(path)
    except (OSError, ValueError, TypeError, KeyError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not a tune config: {exc}") from None


def _reference(reference: str, args: Mapping[str, Any] | None, key: str) -> Any:
    """Call ``module:function`` imported from the current directory (or a ``file.py:function``)."""
    from inc_core.cli.references import importable, resolve_reference

    importable(Path.cwd())
    return resolve_reference(reference, key, Path.cwd())(**(args or {}))


def _model(text: str) -> Any:
    path = Path(text)
    if path.is_file():
        return path.resolve()
    if ":" in text and not path.suffix:
        return _reference(text, None, "MODEL")
    raise ConfigError(f"MODEL: no such file {path.resolve()}")


def _adaptor(model: Any, framework: str | None, options: dict[str, Any]) -> Any:
    from inc_core.adaptor.options import build_adaptor
    from inc_core.plugins.manager import get_plugin_manager

    pm = get_plugin_manager()
    if framework is None:
        accepting = [r.name for r in pm.adaptors if r.cls.accepts(model)]
        if not accepting:
            installed = ", ".join(pm.adaptors.names()) or "none"
            raise ConfigError(f"MODEL: no installed adaptor accepts {model}; installed: {installed}")
        framework = accepting[0]
    try:
        cls = pm.adaptors.get(framework).cls
    except IncError as exc:
        raise ConfigError(f"--framework: {exc}") from None

    return build_adaptor(cls, framework, options, lambda name: f"run.yaml adaptor.{name}", _reference)


def check_config_fits(config: Any, capability: Any, config_path: Path, model: Any) -> None:
    """Raise `ConfigError` naming the first op of ``config`` the model lacks or cannot run that way."""
    from inc_core.space.space import TuningSpace

    space = TuningSpace(capability)
    offered = {op.name: op for op in space.ops}
    missing = [name for name in config.ops if name not in offered]
    if missing:
        listed = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ConfigError(
            f"{config_path}: op {missing[0]!r} is not in the model {model} ({len(missing)} of the config's "
            f"{len(config.ops)} ops missing: {listed}); was the config tuned on another model?"
        )
    for name, option in config.ops.items():
        if option not in offered[name].options:
            raise ConfigError(f"{config_path}: op {name!r}: the model's op does not offer {option}")


def cmd_apply(args: argparse.Namespace) -> int:
    """Check the config against the model, quantize and write ``OUT``."""
    from inc_core.adaptor.base import Calibration

    config_path, run = _config_and_run(Path(args.source))
    config = _load_config(config_path)
    output = Path(args.output)
    if output.exists() and not args.overwrite:
        raise ConfigError(f"-o: {output} exists; pass --overwrite to replace it")
    model = _model(args.model)
    framework = args.framework or (run.get("model") or {}).get("framework")
    adaptor = _adaptor(model, None if framework in (None, "auto") else framework, dict(run.get("adaptor") or {}))
    try:
        loaded = adaptor.load(model) if isinstance(model, Path) else model
        check_config_fits(config, adaptor.capability(loaded), config_path, args.model)
        calib = _calibration(args.calib, run)
        if calib is None and any(o.mode == "static" for o in config.ops.values()):
            raise ConfigError("--calib: the config quantizes ops statically; give the calibration data (.npz)")
        quantized = adaptor.quantize(loaded, config, Calibration(data=calib))
        output.parent.mkdir(parents=True, exist_ok=True)
        written = adaptor.save(quantized, output)
        before, after = adaptor.model_size(loaded), adaptor.model_size(quantized)
    finally:
        adaptor.close()
    print(f"wrote {written} ({after / 1024:.1f} KiB, {before / max(after, 1):.2f}x smaller than {args.model})")
    return 0


def _calibration(flag: str | None, run: dict[str, Any]) -> Any:
    if flag is None:
        saved = run.get("calibration") or {}
        if saved.get("function"):
            return _reference(saved["function"], saved.get("args"), "run.yaml calibration")
        return Path(saved["path"]) if saved.get("path") else None
    path = Path(flag)
    if path.suffix == ".npz":
        if not path.is_file():
            raise ConfigError(f"--calib: no such file {path.resolve()}")
        return path.resolve()
    return _reference(flag, None, "--calib")
