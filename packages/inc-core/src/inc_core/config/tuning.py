"""`TuningConfig`: everything that says how one tuning run searches and when it stops.

Validated when built (pydantic); an invalid value raises `ConfigError` naming the
field and what was expected. Keeps INC's positional signature
``TuningConfig(config_set, timeout, max_trials, sampler, tolerable_loss)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from inc_core.config.criterion import Criterion
from inc_core.errors import ConfigError

OBJECTIVES = ("latency", "model_size")


def _strict_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError("must be a number")
    return value


Number = Annotated[float, BeforeValidator(_strict_number)]


def format_validation_error(error: ValidationError, owner: str) -> str:
    """One line per problem: ``owner.field: message (got value)``."""
    lines = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "(root)"
        got = problem.get("input")
        shown = "" if isinstance(got, Mapping) else f" (got {got!r})"
        lines.append(f"{owner}.{where}: {problem['msg']}{shown}")
    return "\n".join(lines)


class TuningConfig(BaseModel):
    """How to tune: the goal (criterion), the search (strategy, space constraints) and the budget.

    ``timeout`` (seconds): 0 stops at the first config that meets the goal; > 0 keeps
    searching for a better objective until the timeout or ``max_trials``.
    ``objectives``: weights of ``latency`` and ``model_size`` used to choose among
    passing configs (accuracy always gates first).
    ``min_gain``: a config meets the goal only if it passes the accuracy criterion and
    beats fp32 on the weighted objective by this fraction (0.05: 5% faster, measured as
    a paired ratio); ``None`` keeps INC's accuracy-only rule.
    ``tolerable_loss``: finite and >= 0; with the ``relative`` criterion below 1 (a loss of
    100% lets any score pass). 0 asks for no loss at all.
    ``worker_wait`` (seconds): when every worker of the executor is gone (a Dask cluster
    restarting its workers), how long to wait for one to come back before stopping with
    "all workers lost"; the lost trials stay unrecorded so ``--resume`` runs them.
    ``dask_security``: TLS settings for a ``tls://`` Dask scheduler, a
    ``distributed.Security`` or a mapping of its arguments (``tls_ca_file``,
    ``tls_client_cert``, ``tls_client_key``, ``require_encryption``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    config_set: Any = None
    timeout: Number = Field(default=0, ge=0)
    max_trials: StrictInt = Field(default=100, ge=1)
    sampler: Any = None
    criterion: Literal["relative", "absolute"] = "relative"  # before tolerable_loss: its check reads it
    tolerable_loss: Number = 0.01
    higher_is_better: StrictBool = True
    strategy: str | None = None
    strategy_kwargs: dict[str, Any] = Field(default_factory=dict)
    objectives: dict[str, Number] = Field(default_factory=lambda: {"latency": 1.0})
    min_gain: Number | None = Field(default=0.05, ge=0)
    op_type_dict: dict[str, dict[str, Any]] = Field(default_factory=dict)
    op_name_dict: dict[str, dict[str, Any]] = Field(default_factory=dict)
    global_constraint: dict[str, Any] = Field(default_factory=dict)
    recipes: dict[str, Any] = Field(default_factory=dict)
    random_seed: StrictInt = 1978
    run_dir: str | Path | None = None
    executor: Any = "inline"
    workers: StrictInt = Field(default=1, ge=1)
    trial_timeout: Number | None = Field(default=None, gt=0)
    worker_wait: Number = Field(default=60, ge=0)
    dask_security: Any = None

    def __init__(
        self,
        config_set: Any = None,
        timeout: float = 0,
        max_trials: int = 100,
        sampler: Any = None,
        tolerable_loss: float = 0.01,
        **kwargs: Any,
    ) -> None:
        try:
            super().__init__(
                config_set=config_set,
                timeout=timeout,
                max_trials=max_trials,
                sampler=sampler,
                tolerable_loss=tolerable_loss,
                **kwargs,
            )
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, "TuningConfig")) from None

    @field_validator("tolerable_loss")
    @classmethod
    def _sane_tolerable_loss(cls, value: float, info: ValidationInfo) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        if value < 0:
            raise ValueError(
                f"{value} is negative: it is the loss you accept (0.01 = 1% worse than fp32), "
                "not a gain; use 0 for no loss at all"
            )
        if info.data.get("criterion", "relative") == "relative" and value >= 1:
            raise ValueError(
                f"a relative loss of {value:.0%} lets any score pass; give a fraction below 1 (0.01 = 1%), "
                "or criterion: absolute for a loss in metric units"
            )
        return value

    @field_validator("objectives")
    @classmethod
    def _known_objectives(cls, value: dict[str, float]) -> dict[str, float]:
        for name, weight in value.items():
            if name not in OBJECTIVES:
                raise ValueError(f"unknown objective {name!r}; valid: {list(OBJECTIVES)}")
            if weight < 0:
                raise ValueError(f"objective {name!r} weight must be >= 0")
        return value

    @field_validator("op_name_dict")
    @classmethod
    def _patterns_compile(cls, value: dict[str, Any]) -> dict[str, Any]:
        import re

        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"op-name pattern {pattern!r} is not a valid regex: {exc}") from None
        return value

    @property
    def strategy_name(self) -> str:
        """The strategy to run: as given, else ``sequential`` with a config set, else ``auto``."""
        if self.strategy:
            return self.strategy
        return "sequential" if self.config_set is not None else "auto"

    @property
    def accuracy_criterion(self) -> Criterion:
        return Criterion(float(self.tolerable_loss), self.criterion, self.higher_is_better)
