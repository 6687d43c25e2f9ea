"""Evaluator: the user's scoring functions in the four forms INC users know.

1. a callable ``eval_fn(model) -> float``;
2. ``{"eval_fn": fn}``;
3. ``{"eval_fn": fn, "weight": 0.5, "name": "acc"}`` (optionally ``"higher_is_better"``);
4. a list of such dicts.

Without weights every metric must pass its own rule; with weights the weighted sum
of the metrics is compared with the weighted sum of the baselines.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from inc_core.config.criterion import Criterion
from inc_core.errors import ConfigError, TrialError

EvalFn = Callable[[Any], Any]
EvalSpec = EvalFn | Mapping[str, Any] | Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Metric:
    """One named scoring function; ``higher_is_better=None`` follows the criterion."""

    name: str
    fn: EvalFn
    weight: float | None = None
    higher_is_better: bool | None = None


def _metric_from_dict(entry: Mapping[str, Any], position: int) -> Metric:
    unknown = set(entry) - {"eval_fn", "weight", "name", "higher_is_better"}
    if unknown:
        raise ConfigError(f"eval_fn[{position}]: unknown key(s) {sorted(unknown)}; expected eval_fn, weight, name")
    fn = entry.get("eval_fn")
    if not callable(fn):
        raise ConfigError(f"eval_fn[{position}]['eval_fn'] must be callable, got {fn!r}")
    weight = entry.get("weight")
    if weight is not None and (isinstance(weight, bool) or not isinstance(weight, numbers.Real) or weight < 0):
        raise ConfigError(f"eval_fn[{position}]['weight'] must be a non-negative number, got {weight!r}")
    name = str(entry.get("name") or ("accuracy" if position == 0 else f"metric{position}"))
    return Metric(name, fn, None if weight is None else float(weight), entry.get("higher_is_better"))


def to_float(value: Any, metric: str) -> float:
    """A metric value as a finite float, or `TrialError` saying what came back instead."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:  # numpy/torch scalars
            value = float(value.item() if hasattr(value, "item") else value)
        except (TypeError, ValueError, AttributeError, RuntimeError):
            raise TrialError(
                f"metric {metric!r} returned {type(value).__name__} {value!r}, expected a number"
            ) from None
    value = float(value)
    if not math.isfinite(value):
        raise TrialError(f"metric {metric!r} returned {value}, expected a finite number")
    return value


class Evaluator:
    """Scores a model with one or more metrics and judges scores against baselines."""

    def __init__(self, eval_fn: EvalSpec, criterion: Criterion | None = None) -> None:
        self.criterion = criterion or Criterion()
        self.metrics: tuple[Metric, ...] = self._parse(eval_fn)
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ConfigError(f"eval_fn: metric names must be unique, got {names}")
        weights = [m.weight for m in self.metrics]
        self.weighted = any(w is not None for w in weights)
        if self.weighted:
            filled = [w if w is not None else 0.0 for w in weights]
            if sum(filled) <= 0:
                raise ConfigError("eval_fn: weights must not all be zero")
            self.weights = tuple(w / sum(filled) for w in filled)
        else:
            self.weights = tuple(1.0 / len(self.metrics) for _ in self.metrics)

    @staticmethod
    def _parse(eval_fn: EvalSpec) -> tuple[Metric, ...]:
        if isinstance(eval_fn, Evaluator):
            return eval_fn.metrics
        if callable(eval_fn):
            return (Metric("accuracy", eval_fn),)
        if isinstance(eval_fn, Mapping):
            return (_metric_from_dict(eval_fn, 0),)
        if isinstance(eval_fn, Sequence) and not isinstance(eval_fn, (str, bytes)) and eval_fn:
            if not all(isinstance(e, Mapping) for e in eval_fn):
                raise ConfigError("eval_fn: a list must hold dicts with an 'eval_fn' key")
            return tuple(_metric_from_dict(e, i) for i, e in enumerate(eval_fn))
        raise ConfigError(
            "eval_fn must be a callable, a dict with 'eval_fn', or a non-empty list of such dicts; "
            f"got {type(eval_fn).__name__}"
        )

    def higher_is_better(self, metric: Metric) -> bool:
        return self.criterion.higher_is_better if metric.higher_is_better is None else metric.higher_is_better

    def evaluate(self, model: Any) -> dict[str, float]:
        """Run every metric on ``model``; `TrialError` if one returns something that is not a number."""
        return {m.name: to_float(m.fn(model), m.name) for m in self.metrics}

    def score(self, metrics: Mapping[str, float]) -> float:
        """One scalar for ranking: the (normalised) weighted sum, or the single metric."""
        return sum(w * metrics[m.name] for m, w in zip(self.metrics, self.weights, strict=True))

    def check_baseline(self, baseline: Mapping[str, float]) -> None:
        if self.weighted:
            self.criterion.check_baseline(self.score(baseline), "weighted score")
        else:
            for m in self.metrics:
                self.criterion.check_baseline(baseline[m.name], m.name)

    def _rule(self, metric: Metric) -> Criterion:
        hib = self.higher_is_better(metric)
        if hib == self.criterion.higher_is_better:
            return self.criterion
        return Criterion(self.criterion.tolerable_loss, self.criterion.criterion, hib)

    def passes(self, metrics: Mapping[str, float], baseline: Mapping[str, float]) -> bool:
        """The pass rule: every metric passes its own rule, or the weighted sums compare."""
        if self.weighted:
            return self.criterion.passes(self.score(metrics), self.score(baseline))
        return all(self._rule(m).passes(metrics[m.name], baseline[m.name]) for m in self.metrics)

    def target(self, baseline: Mapping[str, float]) -> float:
        """The scalar score a trial must reach (for display and strategies' ranking)."""
        return self.criterion.target(self.score(baseline))
