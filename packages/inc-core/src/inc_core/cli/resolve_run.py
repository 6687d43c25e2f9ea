"""A run file resolved: the user's functions imported, data located, model and adaptor built."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from inc_core.adaptor.resolve import accepting, no_adaptor_message
from inc_core.cli.references import call, check_call, importable, resolve_reference
from inc_core.cli.run_file import tuning_config
from inc_core.cli.run_schema import NOT_IN_RUN_FILE, Key, RunFile
from inc_core.config.tuning import TuningConfig
from inc_core.errors import ConfigError, IncError
from inc_core.evaluate.bound import BoundEval


@dataclass
class ResolvedRun:
    """A run file with its user code imported and its data located: ready for `inc_core.run.runner.TuningRun`."""

    run: RunFile
    tuning: TuningConfig
    run_dir: Path
    model: Any
    framework: str | None
    eval_fn: Callable[..., Any]
    calib_data: Any
    adaptor: Any = None
    """The adaptor instance built from the ``adaptor`` options, or the adaptor's name when none were given."""
    adaptor_options: dict[str, Any] = field(default_factory=dict)

    def resolved_dict(self) -> dict[str, Any]:
        """The run file with every path absolute and every TuningConfig field spelled out (``run.yaml``)."""
        spec = self.run.spec
        model: dict[str, Any] = {"framework": self.framework or "auto"}
        if spec.model.path is not None:
            model["path"] = str(self.model)
        else:
            model.update(factory=spec.model.factory, args=spec.model.args)
        data: dict[str, Any] = {"model": model}
        if spec.calibration is not None:
            if spec.calibration.path is not None:
                data["calibration"] = {"path": str(self.calib_data)}
            else:
                data["calibration"] = {"function": spec.calibration.function, "args": spec.calibration.args}
        data["evaluation"] = {"function": spec.evaluation.function, "args": spec.evaluation.args}
        if self.adaptor_options:
            data["adaptor"] = self.adaptor_options
        data["tuning"] = self.tuning.model_dump(mode="json", exclude=set(NOT_IN_RUN_FILE))
        data["run_dir"] = str(self.run_dir.resolve())
        return data

    def resolved_yaml(self) -> str:
        """`resolved_dict` as YAML, itself a valid run file, headed by where it came from."""
        header = f"# {self.run.describe()} as inc tune resolved it; a valid run file itself.\n"
        return header + yaml.safe_dump(self.resolved_dict(), sort_keys=False)


ADAPTOR_FLAGS = {"threads": "--threads", "providers": "--provider", "example_inputs": "--example-inputs"}
"""Adaptor options with a flag of their own on ``inc tune``; the rest go through ``--adaptor-option``."""


def resolve_run(
    run: RunFile,
    run_dir: Path,
    overrides: Mapping[str, Any],
    plugin_manager: Any,
    adaptor_overrides: Mapping[str, Any] | None = None,
) -> ResolvedRun:
    """Build the TuningConfig, import the user's functions, locate data, build the model and adaptor; write nothing.

    ``adaptor_overrides``: adaptor options from the command line (they win over the run file's).
    """
    spec, base = run.spec, run.base
    tuning = tuning_config(run, run_dir, overrides, plugin_manager.executor_kinds())
    try:
        strategy = plugin_manager.strategies.get(tuning.strategy_name)
    except IncError as exc:
        raise run.error(("tuning", "strategy"), str(exc)) from None
    try:
        strategy.cls._validate_options(tuning.strategy_kwargs)
    except ConfigError as exc:
        raise run.error(("tuning", "strategy_kwargs"), str(exc)) from None
    importable(base)

    evaluation_key = run.where(("evaluation", "function"))
    eval_fn = resolve_reference(spec.evaluation.function, evaluation_key, base)
    check_call(eval_fn, run.where(("evaluation", "args")), (object(),), spec.evaluation.args)
    if spec.evaluation.args:
        eval_fn = BoundEval(eval_fn, kwargs=spec.evaluation.args)

    calib: Any = None
    if spec.calibration is not None and spec.calibration.path is not None:
        calib = _existing_file(run, ("calibration", "path"), spec.calibration.path)
        if calib.suffix == ".npz":
            _check_npz(run, calib)
    elif spec.calibration is not None and spec.calibration.function is not None:
        key = run.where(("calibration", "function"))
        calib = call(resolve_reference(spec.calibration.function, key, base), key, spec.calibration.args)

    framework = None if spec.model.framework == "auto" else spec.model.framework
    if framework is not None and framework not in plugin_manager.adaptors:
        installed = ", ".join(plugin_manager.adaptors.names()) or "none"
        raise run.error(("model", "framework"), f"unknown adaptor {framework!r}; installed: {installed} (or auto)")
    model: Any
    if spec.model.path is not None:
        model = _existing_file(run, ("model", "path"), spec.model.path)
    else:
        key = run.where(("model", "factory"))
        model = call(resolve_reference(str(spec.model.factory), key, base), key, spec.model.args)
    if framework is None:
        names, broken = accepting(model, plugin_manager.adaptors)
        if not names:
            where = ("model", "path") if spec.model.path is not None else ("model", "factory")
            hint = "install inc-onnx or inc-torch, or set model.framework"
            raise run.error(where, no_adaptor_message(model, plugin_manager.adaptors, broken, hint))
        framework = names[0]
    adaptor_overrides = dict(adaptor_overrides or {})
    options = {**spec.adaptor, **adaptor_overrides}
    adaptor: Any = framework
    if options:
        from inc_core.adaptor.options import build_adaptor

        def place_of(name: str) -> str:
            if name in adaptor_overrides:
                return ADAPTOR_FLAGS.get(name, f"--adaptor-option {name}")
            return run.where(("adaptor", name))

        def build(reference: str, args: Mapping[str, Any], place: str) -> Any:
            return call(resolve_reference(reference, place, base), place, args)

        adaptor = build_adaptor(plugin_manager.adaptors.get(framework).cls, framework, options, place_of, build)
    return ResolvedRun(run, tuning, run_dir, model, framework, eval_fn, calib, adaptor, options)


def _existing_file(run: RunFile, key: Key, value: str) -> Path:
    path = (run.base / value).resolve()
    if not path.is_file():
        raise run.error(key, f"no such file {path}")
    return path


def _check_npz(run: RunFile, path: Path) -> None:
    import zipfile

    if not zipfile.is_zipfile(path):
        raise run.error(("calibration", "path"), f"{path} is not an .npz file (numpy.savez)")
