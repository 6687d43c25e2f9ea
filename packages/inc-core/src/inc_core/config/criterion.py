"""The accuracy goal: one inclusive pass rule used everywhere.

relative, higher-better: ``acc >= b*(1-t)``; relative, lower-better: ``acc <= b*(1+t)``;
absolute: ``acc >= b-t`` / ``acc <= b+t``. ``t >= 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from inc_core.errors import BaselineError, ConfigError

CRITERIA = ("relative", "absolute")


def score_key(score: float | None, higher_is_better: bool) -> float:
    """Sort key of a score, lower = better, None worst: the one place a direction is applied."""
    if score is None or math.isnan(score):
        return math.inf
    return -score if higher_is_better else score


def better_score(a: float | None, b: float | None, higher_is_better: bool) -> bool:
    """Whether score ``a`` is strictly better than ``b`` (None is worst)."""
    if a is None:
        return False
    return b is None or score_key(a, higher_is_better) < score_key(b, higher_is_better)


def shortfall(score: float, reference: float, higher_is_better: bool) -> float:
    """How far ``score`` is behind ``reference`` in metric units (negative = ahead of it)."""
    return score_key(score, higher_is_better) - score_key(reference, higher_is_better)


@dataclass(frozen=True)
class Criterion:
    """How much a metric may lose against its baseline."""

    tolerable_loss: float = 0.01
    criterion: str = "relative"
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if self.criterion not in CRITERIA:
            raise ConfigError(f"criterion must be one of {CRITERIA}, got {self.criterion!r}")
        if isinstance(self.tolerable_loss, bool) or not isinstance(self.tolerable_loss, (int, float)):
            raise ConfigError(f"tolerable_loss must be a number, got {self.tolerable_loss!r}")
        if not math.isfinite(self.tolerable_loss) or self.tolerable_loss < 0:
            raise ConfigError(f"tolerable_loss must be a finite number >= 0, got {self.tolerable_loss!r}")

    def check_baseline(self, baseline: float, metric: str = "accuracy") -> None:
        """Reject baselines the rule cannot judge against (NaN, or 0 with a relative rule)."""
        if not math.isfinite(baseline):
            raise BaselineError(f"baseline {metric} is {baseline!r}; a finite number is needed")
        if self.criterion == "relative" and baseline == 0:
            raise BaselineError(
                f"baseline {metric} is 0, so a relative loss is undefined; "
                "use criterion='absolute' (tolerable_loss is then in metric units)"
            )

    def target(self, baseline: float) -> float:
        """The worst metric value that still passes."""
        t = self.tolerable_loss
        if self.criterion == "relative":
            # abs() keeps the rule meaningful for negative baselines (e.g. negative log-likelihood).
            return baseline - abs(baseline) * t if self.higher_is_better else baseline + abs(baseline) * t
        return baseline - t if self.higher_is_better else baseline + t

    def passes(self, value: float, baseline: float) -> bool:
        if not math.isfinite(value):
            return False
        target = self.target(baseline)
        return value >= target if self.higher_is_better else value <= target

    def loss(self, value: float, baseline: float) -> float:
        """How much worse than the baseline ``value`` is (relative or absolute; negative = better)."""
        diff = shortfall(value, baseline, self.higher_is_better)
        return diff / abs(baseline) if self.criterion == "relative" else diff
