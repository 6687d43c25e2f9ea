"""Objectives that choose among configs meeting the accuracy goal: latency and model size.

Each objective is normalised by its fp32 baseline so weights mix seconds and bytes
meaningfully; lower cost is better. The Pareto set is computed on
(score, latency, size) over passing trials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from inc_core.trial import Trial


@dataclass(frozen=True)
class Objectives:
    """Weights per objective (``latency``, ``model_size``) and their fp32 baselines."""

    weights: Mapping[str, float]
    baseline_latency: float | None = None
    baseline_size: int | None = None

    @property
    def measures_latency(self) -> bool:
        return self.weights.get("latency", 0) > 0

    def cost(self, trial: Trial) -> float:
        """Weighted, baseline-normalised cost (1.0 = as costly as fp32); 0 when nothing is weighted."""
        total = 0.0
        for name, value, base in (
            ("latency", trial.latency, self.baseline_latency),
            ("model_size", trial.model_size, self.baseline_size),
        ):
            weight = self.weights.get(name, 0.0)
            if weight > 0 and value is not None and base:
                total += weight * value / base
            elif weight > 0:
                total += weight  # unmeasured: assume no gain over fp32
        return total


def pareto_front(trials: Sequence[Trial], higher_is_better: bool = True) -> list[Trial]:
    """Passing trials not dominated on (score, latency, size); unmeasured values are ignored."""
    candidates = [t for t in trials if t.passed and t.score is not None]

    def vector(t: Trial) -> tuple[float, float, float]:
        score = t.score if t.score is not None else 0.0
        return (
            -score if higher_is_better else score,
            t.latency if t.latency is not None else 0.0,
            float(t.model_size) if t.model_size is not None else 0.0,
        )

    vectors = {id(t): vector(t) for t in candidates}
    front = []
    for t in candidates:
        vt = vectors[id(t)]
        dominated = any(
            all(a <= b for a, b in zip(vectors[id(o)], vt, strict=True)) and vectors[id(o)] != vt
            for o in candidates
            if o is not t
        )
        if not dominated:
            front.append(t)
    return front
