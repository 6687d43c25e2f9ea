"""The YAML run file of ``inc tune``, validated into typed objects before anything runs.

    model:
      path: model.onnx               # or factory: package.module:function (+ args)
      framework: auto                # or an adaptor name (onnx, torch, synthetic, ...)
    calibration: calib.npz           # optional: an .npz path or package.module:function
    evaluation:
      function: package.module:function
      args: {}                       # keyword arguments bound to the function
    tuning:                          # any TuningConfig field except run_dir/config_set/sampler
      strategy: auto
      tolerable_loss: 0.01
      max_trials: 100
    run_dir: runs/my-model

Relative paths are resolved against the YAML file's folder. Errors name the YAML
key (and line, where the parser gives one) and what was expected.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from inc_core.config import TuningConfig
from inc_core.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSpec(_Strict):
    path: str | None = None
    factory: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    framework: str = "auto"


class EvaluationSpec(_Strict):
    function: str
    args: dict[str, Any] = Field(default_factory=dict)


class RunSpec(_Strict):
    model: ModelSpec
    evaluation: EvaluationSpec
    calibration: str | None = None
    tuning: dict[str, Any] = Field(default_factory=dict)
    run_dir: str = "inc_runs/run"


def _suggest(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(valid)}"


def _valid_keys(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = RunSpec
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            return []
    return list(model.model_fields)


def _format(error: ValidationError, source: str) -> str:
    lines = []
    for problem in error.errors():
        loc = tuple(problem["loc"])
        key = ".".join(map(str, loc))
        if problem["type"] == "extra_forbidden":
            lines.append(f"{source}: unknown key {key!r}{_suggest(str(loc[-1]), _valid_keys(loc))}")
        elif problem["type"] == "missing":
            lines.append(f"{source}: missing required key {key!r}")
        else:
            lines.append(f"{source}: {key}: {problem['msg']} (got {problem.get('input')!r})")
    return "\n".join(lines)


def load_run_spec(path: str | Path) -> tuple[RunSpec, Path]:
    """Parse and validate a run file; return the spec and the folder relative paths start from."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such run file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with keys model, evaluation, tuning, run_dir")
    try:
        spec = RunSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format(exc, str(path))) from None
    if (spec.model.path is None) == (spec.model.factory is None):
        raise ConfigError(f"{path}: model: give exactly one of 'path' or 'factory'")
    forbidden = {"run_dir", "config_set", "sampler"} & set(spec.tuning)
    if forbidden:
        raise ConfigError(f"{path}: tuning.{sorted(forbidden)[0]} cannot be set in a run file")
    return spec, path.parent


def resolve_reference(reference: str, key: str, base: Path) -> Callable[..., Any]:
    """Import ``package.module:function`` (or ``file.py:function`` relative to ``base``)."""
    module_name, sep, attr = reference.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{key}: {reference!r} is not a 'module:function' reference")
    try:
        if module_name.endswith(".py"):
            file = (base / module_name).resolve()
            spec = importlib.util.spec_from_file_location(file.stem, file)
            if spec is None or spec.loader is None or not file.is_file():
                raise ConfigError(f"{key}: no such file {file}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"{key}: cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    target = getattr(module, attr, None)
    if target is None:
        raise ConfigError(f"{key}: module {module_name!r} has no attribute {attr!r}")
    if not callable(target):
        raise ConfigError(f"{key}: {reference!r} is not callable")
    return target


def build_tuning_config(spec: RunSpec, source: Path, run_dir: Path, overrides: dict[str, Any]) -> TuningConfig:
    try:
        return TuningConfig(**{**spec.tuning, **overrides, "run_dir": run_dir})
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("TuningConfig.", f"{source}: tuning.")) from None
