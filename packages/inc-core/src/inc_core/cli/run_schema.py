"""What a run file may hold (pydantic models) and `RunFile`, a parsed file with each key's line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from inc_core.errors import ConfigError

Key = tuple[str | int, ...]
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
