"""The YAML run file of ``inc tune``, validated into typed objects before anything runs.

.. code-block:: yaml

    model:
      path: model.onnx               # or factory: package.module:function (+ args)
      framework: auto                # or an adaptor name (onnx, torch, synthetic, ...)
    calibration: calib.npz           # optional: an .npz path or package.module:function
    evaluation:
      function: package.module:function
      args: {}                       # keyword arguments bound to the function
    adaptor:                         # optional: options of the adaptor (see inc_core.adaptor.options)
      threads: 1
    tuning:                          # any TuningConfig field except run_dir/sampler
      strategy: auto
      tolerable_loss: 0.01
      max_trials: 100
    run_dir: runs/my-model

Relative paths are resolved against the YAML file's folder, and that folder is
importable, so ``evaluate:accuracy`` finds ``evaluate.py`` next to the run file.
Every error names the file, the line, the YAML key and what was expected.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from inc_core.config.tuning import TuningConfig
from inc_core.errors import ConfigError, IncError

Key = tuple[str | int, ...]
EXECUTOR_FORMS = ("inline", "threads", "process", "dask", "dask://HOST:PORT", "tls://HOST:PORT", "mpi")
NOT_IN_RUN_FILE = ("run_dir", "sampler")
"""TuningConfig fields a run file cannot set (``run_dir`` is top level; a sampler is a Python object)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSpec(_Strict):
    """``model``: a model file (``path``) or a factory (``factory`` + ``args``), and its framework."""

    path: str | None = None
    factory: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    framework: str = "auto"

    @model_validator(mode="after")
    def _one_source(self) -> ModelSpec:
        if (self.path is None) == (self.factory is None):
            raise ValueError("give exactly one of 'path' (a model file) or 'factory' (module:function)")
        if self.args and self.factory is None:
            raise ValueError("'args' is only used with 'factory'")
        return self


class CalibrationSpec(_Strict):
    """``calibration``: an ``.npz`` file (``path``) or a function returning the data (``function`` + ``args``)."""

    path: str | None = None
    function: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_source(self) -> CalibrationSpec:
        if (self.path is None) == (self.function is None):
            raise ValueError("give exactly one of 'path' (an .npz file) or 'function' (module:function)")
        return self


class EvaluationSpec(_Strict):
    """``evaluation``: the score function (``module:function``) and keyword arguments bound to it."""

    function: str
    args: dict[str, Any] = Field(default_factory=dict)


class RunSpec(_Strict):
    """A whole run file, as typed objects (``tuning`` is checked against `TuningConfig` separately)."""

    model: ModelSpec
    evaluation: EvaluationSpec
    calibration: CalibrationSpec | None = None
    adaptor: dict[str, Any] = Field(default_factory=dict)
    tuning: dict[str, Any] = Field(default_factory=dict)
    run_dir: str = "inc_runs/run"

    @field_validator("model", mode="before")
    @classmethod
    def _model_shorthand(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    @field_validator("calibration", mode="before")
    @classmethod
    def _calibration_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            is_reference = ":" in value and not value.endswith(".npz") and not re.match(r"^[A-Za-z]:[\\/]", value)
            return {"function": value} if is_reference else {"path": value}
        return value

    @field_validator("evaluation", mode="before")
    @classmethod
    def _evaluation_shorthand(cls, value: Any) -> Any:
        return {"function": value} if isinstance(value, str) else value


# YAML with line numbers --------------------------------------------------------------


def _key_lines(node: yaml.Node, path: Key, lines: dict[Key, int], source: str) -> None:
    """Record the 1-based line of every key (and list item) under ``node``; reject duplicate keys."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                where = ".".join(map(str, (*path, key)))
                raise ConfigError(f"{source}:{line}: duplicate key {where!r} (first given on line {seen[key]})")
            seen[key] = line
            lines[(*path, key)] = line
            _key_lines(value_node, (*path, key), lines, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _key_lines(item, (*path, index), lines, source)


def _parse_yaml(text: str, source: str) -> tuple[Any, dict[Key, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        raise ConfigError(f"{source}:{where} invalid YAML: {problem}" + (f" ({context})" if context else "")) from None
    lines: dict[Key, int] = {}
    if node is not None:
        _key_lines(node, (), lines, source)
    return data, lines


# The loaded run file ------------------------------------------------------------------


@dataclass
class RunFile:
    """A validated run file: the typed spec, where it came from, and the line of every key."""

    spec: RunSpec
    path: Path
    lines: dict[Key, int] = field(default_factory=dict)

    @property
    def base(self) -> Path:
        """The folder relative paths and bare module names are resolved against."""
        return self.path.resolve().parent

    def at(self, key: Key) -> str:
        """``file:line`` of ``key`` (or of the nearest enclosing key that is present)."""
        probe = key
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe)
        return f"{self.path}:{line}" if line else str(self.path)

    def where(self, key: Key) -> str:
        """``file:line: key`` for messages."""
        return f"{self.at(key)}: {'.'.join(map(str, key)) or '(top level)'}"

    def error(self, key: Key, message: str) -> ConfigError:
        return ConfigError(f"{self.where(key)}: {message}")

    def describe(self) -> str:
        """Where the run came from, for the header of the resolved ``run.yaml``."""
        return f"The run file {self.path.resolve()}"


_TYPE_WORDS = {
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected a string",
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
    "list_type": "expected a list",
}


def _explain(problem: Mapping[str, Any]) -> str:
    message = _TYPE_WORDS.get(problem["type"])
    if message is None:
        message = _reword(str(problem["msg"]))
    got = problem.get("input")
    if problem["type"] != "missing" and not isinstance(got, Mapping):
        message += f" (got {got!r})"
    return message


def _suggest(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(valid)}"


def _model_at(loc: Key) -> type[BaseModel] | None:
    """The pydantic model whose fields are valid under ``loc`` (None for free-form mappings)."""
    model: type[BaseModel] = RunSpec
    for part in loc:
        info = model.model_fields.get(str(part))
        if info is None:
            return None
        candidates = [info.annotation, *getattr(info.annotation, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return None
        model = nested[0]
    return model


def format_errors(error: ValidationError, run: RunFile) -> str:
    """One line per problem pydantic found, each naming where it is (file:line, or the flag)."""
    lines = []
    for problem in error.errors():
        # pydantic puts the model's own validators at the model's location
        loc: Key = tuple(p for p in problem["loc"] if isinstance(p, (str, int)))
        if problem["type"] == "extra_forbidden":
            model = _model_at(loc[:-1])
            valid = list(model.model_fields) if model else []
            dotted = ".".join(map(str, loc))
            hint = _suggest(str(loc[-1]), valid)
            if loc[:1] == ("model",) and len(loc) == 2:
                hint += f"; adaptor options go under the top-level 'adaptor' key (adaptor: {{{loc[-1]}: ...}})"
            lines.append(f"{run.at(loc)}: unknown key {dotted!r}{hint}")
        elif problem["type"] == "missing":
            lines.append(
                f"{run.at(loc[:-1]) if loc[:-1] else run.path}: missing required key {'.'.join(map(str, loc))!r}"
            )
        else:
            lines.append(f"{run.where(loc)}: {_explain(problem)}")
    return "\n".join(lines)


def load_run_file(path: str | Path) -> RunFile:
    """Read, parse and validate a run file (the ``tuning`` section included); nothing is imported."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such run file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the run file: {exc}") from None
    data, lines = _parse_yaml(text, str(path))
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping with keys model, evaluation, calibration, tuning, run_dir "
            f"(got {type(data).__name__})"
        )
    run = RunFile(RunSpec.model_construct(), path, lines)
    try:
        run.spec = RunSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, run)) from None
    tuning_config(run, run_dir=None)  # the tuning section is checked now, before anything runs
    return run


def load_run_spec(path: str | Path) -> tuple[RunSpec, Path]:
    """Parse and validate a run file; return the spec and the folder relative paths start from."""
    run = load_run_file(path)
    return run.spec, run.base


# The tuning section -------------------------------------------------------------------


def _tuning_fields() -> list[str]:
    return [name for name in TuningConfig.model_fields if name not in NOT_IN_RUN_FILE]


def check_executor(value: Any) -> None:
    """Raise ValueError unless ``value`` is one of the executor forms a run file may name."""
    if value in ("inline", "threads", "process", "dask", "mpi"):
        return
    if isinstance(value, str) and re.fullmatch(r"(dask|tls)://[^:/\s]+:\d+", value):
        return
    raise ValueError(f"expected one of {', '.join(EXECUTOR_FORMS)} (got {value!r})")


def tuning_config(run: RunFile, run_dir: Path | None, overrides: Mapping[str, Any] | None = None) -> TuningConfig:
    """The `TuningConfig` of ``run`` (``overrides`` come from the command line and win)."""
    settings = dict(run.spec.tuning)
    valid = _tuning_fields()
    for key in settings:
        if key in NOT_IN_RUN_FILE:
            hint = "set the top-level 'run_dir'" if key == "run_dir" else "only available from Python"
            raise run.error(("tuning", key), f"cannot be set in a run file ({hint})")
        if key not in valid:
            raise ConfigError(f"{run.at(('tuning', key))}: unknown key 'tuning.{key}'{_suggest(str(key), valid)}")
    if "executor" in settings:
        try:
            check_executor(settings["executor"])
        except ValueError as exc:
            raise run.error(("tuning", "executor"), str(exc)) from None
    overrides = dict(overrides or {})
    if "executor" in overrides:
        try:
            check_executor(overrides["executor"])
        except ValueError as exc:
            raise ConfigError(f"--executor: {exc}") from None
    try:
        return TuningConfig(**{**settings, **overrides, "run_dir": run_dir})
    except ConfigError as exc:  # one "TuningConfig.field: problem" line per problem
        messages = []
        for line in str(exc).splitlines():
            owner, _, problem = line.partition(": ")
            parts = owner.removeprefix("TuningConfig.").split(".")
            if parts[0] in overrides:
                messages.append(f"--{parts[0].replace('_', '-')}: {_reword(problem)}")
            else:
                messages.append(f"{run.where(('tuning', *parts))}: {_reword(problem)}")
        raise ConfigError("\n".join(messages)) from None


_REWORDED = (
    (r"Input should be a valid integer[^(]*", "expected an integer "),
    (r"Input should be a valid number[^(]*", "expected a number "),
    (r"Input should be a valid boolean[^(]*", "expected true or false "),
    (r"Input should be a valid dictionary[^(]*", "expected a mapping (key: value lines) "),
    (r"Input should be a valid string[^(]*", "expected a string "),
)


def _reword(problem: str) -> str:
    """pydantic's wording, said the way the rest of our messages say it."""
    problem = problem.removeprefix("Value error, ")
    for pattern, replacement in _REWORDED:
        problem = re.sub(pattern, replacement, problem).replace("  ", " ").rstrip()
    return problem[:1].lower() + problem[1:]


# References to user code ---------------------------------------------------------------


def importable(folder: Path) -> None:
    """Make modules next to the run file importable here and in worker processes started later."""
    text = str(folder)
    if text not in sys.path:
        sys.path.insert(0, text)
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if text not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([text, *parts])


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
            importable(file.parent)  # process/Dask workers import it by name when unpickling the function
            module = importlib.util.module_from_spec(spec)
            sys.modules[file.stem] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"{key}: cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    target: Any = module
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ConfigError(f"{key}: module {module_name!r} has no attribute {attr!r}")
    if not callable(target):
        raise ConfigError(f"{key}: {reference!r} is not callable (it is a {type(target).__name__})")
    return target


def check_call(function: Callable[..., Any], key: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Raise `ConfigError` if ``function`` cannot be called with these arguments (checked, not called)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return  # builtins without a signature: find out when called
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise ConfigError(
            f"{key}: {getattr(function, '__name__', function)}{signature} cannot take them: {exc}"
        ) from None


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


def _call(function: Callable[..., Any], key: str, kwargs: Mapping[str, Any]) -> Any:
    check_call(function, key, (), kwargs)
    try:
        return function(**kwargs)
    except IncError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    except Exception as exc:
        raise ConfigError(f"{key}: calling it failed: {type(exc).__name__}: {exc}") from None


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
    tuning = tuning_config(run, run_dir, overrides)
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
        eval_fn = BoundEval(eval_fn, spec.evaluation.args)

    calib: Any = None
    if spec.calibration is not None and spec.calibration.path is not None:
        calib = _existing_file(run, ("calibration", "path"), spec.calibration.path)
        if calib.suffix == ".npz":
            _check_npz(run, calib)
    elif spec.calibration is not None and spec.calibration.function is not None:
        key = run.where(("calibration", "function"))
        calib = _call(resolve_reference(spec.calibration.function, key, base), key, spec.calibration.args)

    framework = None if spec.model.framework == "auto" else spec.model.framework
    if framework is not None and framework not in plugin_manager.adaptors:
        installed = ", ".join(plugin_manager.adaptors.names()) or "none"
        raise run.error(("model", "framework"), f"unknown adaptor {framework!r}; installed: {installed} (or auto)")
    model: Any
    if spec.model.path is not None:
        model = _existing_file(run, ("model", "path"), spec.model.path)
    else:
        key = run.where(("model", "factory"))
        model = _call(resolve_reference(str(spec.model.factory), key, base), key, spec.model.args)
    if framework is None:
        accepting = [r.name for r in plugin_manager.adaptors if r.cls.accepts(model)]
        if not accepting:
            where = ("model", "path") if spec.model.path is not None else ("model", "factory")
            installed = ", ".join(plugin_manager.adaptors.names()) or "none"
            raise run.error(
                where,
                f"no installed adaptor accepts {model if isinstance(model, Path) else type(model).__name__}; "
                f"installed adaptors: {installed} (install inc-onnx or inc-torch, or set model.framework)",
            )
        framework = accepting[0]
    adaptor_overrides = dict(adaptor_overrides or {})
    options = {**spec.adaptor, **adaptor_overrides}
    adaptor: Any = framework
    if options:
        from inc_core.adaptor.options import build_adaptor

        def place_of(name: str) -> str:
            if name in adaptor_overrides:
                return ADAPTOR_FLAGS.get(name, f"--adaptor-option {name}")
            return run.where(("adaptor", name))

        def call(reference: str, args: Mapping[str, Any], place: str) -> Any:
            return _call(resolve_reference(reference, place, base), place, args)

        adaptor = build_adaptor(plugin_manager.adaptors.get(framework).cls, framework, options, place_of, call)
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


class BoundEval:
    """``function(model, **args)``; picklable (unlike a lambda) for process and Dask executors."""

    def __init__(self, function: Callable[..., Any], args: Mapping[str, Any]) -> None:
        self.function, self.args = function, dict(args)
        self.__name__ = getattr(function, "__name__", "accuracy")

    def __call__(self, model: Any) -> Any:
        return self.function(model, **self.args)
