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

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from inc_core.cli.run_errors import format_errors, reword, suggest
from inc_core.cli.run_schema import NOT_IN_RUN_FILE, Key, RunFile, RunSpec
from inc_core.config.tuning import TuningConfig
from inc_core.errors import ConfigError
from inc_core.execute.kinds import ExecutorKind, forms

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


def check_executor(value: Any, kinds: Iterable[type[ExecutorKind]]) -> None:
    """Raise ValueError unless ``value`` is one of the executor forms a run file may name."""
    kinds = list(kinds)
    address_ok = not (isinstance(value, str) and "://" in value) or re.fullmatch(r"\w+://[^:/\s]+:\d+", value)
    if address_ok and any(kind.matches(value) for kind in kinds):
        return
    raise ValueError(f"expected one of {', '.join(forms(kinds))} (got {value!r})")


def tuning_config(
    run: RunFile,
    run_dir: Path | None,
    overrides: Mapping[str, Any] | None = None,
    executor_kinds: Iterable[type[ExecutorKind]] | None = None,
) -> TuningConfig:
    """The `TuningConfig` of ``run`` (``overrides`` come from the command line and win).

    ``executor_kinds``: what ``executor`` may name (default: the installed plugins').
    """
    if executor_kinds is None:
        from inc_core.plugins.manager import get_plugin_manager

        executor_kinds = get_plugin_manager().executor_kinds()
    kinds = list(executor_kinds)
    settings = dict(run.spec.tuning)
    valid = _tuning_fields()
    for key in settings:
        if key in NOT_IN_RUN_FILE:
            hint = "set the top-level 'run_dir'" if key == "run_dir" else "only available from Python"
            raise run.error(("tuning", key), f"cannot be set in a run file ({hint})")
        if key not in valid:
            raise ConfigError(f"{run.at(('tuning', key))}: unknown key 'tuning.{key}'{suggest(str(key), valid)}")
    if "executor" in settings:
        try:
            check_executor(settings["executor"], kinds)
        except ValueError as exc:
            raise run.error(("tuning", "executor"), str(exc)) from None
    overrides = dict(overrides or {})
    if "executor" in overrides:
        try:
            check_executor(overrides["executor"], kinds)
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
                messages.append(f"--{parts[0].replace('_', '-')}: {reword(problem)}")
            else:
                messages.append(f"{run.where(('tuning', *parts))}: {reword(problem)}")
        raise ConfigError("\n".join(messages)) from None
