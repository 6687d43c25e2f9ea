"""Objectives that choose among configs meeting the accuracy goal: latency and model size.

Each objective is a ratio to its fp32 baseline so weights mix seconds and bytes
meaningfully; lower cost is better and 1.0 is "as costly as fp32". Latency enters as
1 / the trial's paired speed-up (candidate and fp32 timed in one benchmark) when there
is one. The Pareto set is computed on (score, latency, size) over passing trials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from inc_core.config.criterion import score_key
from inc_core.history.trial import Trial


@dataclass(frozen=True)
class Objectives:
    """Weights per objective (``latency``, ``model_size``) and their fp32 baselines."""

    weights: Mapping[str, float]
    baseline_latency: float | None = None
    baseline_size: int | None = None

    @property
    def measures_latency(self) -> bool:
        return self.weights.get("latency", 0) > 0

    def ratios(self, trial: Trial) -> dict[str, float | None]:
        """Each weighted objective of ``trial`` relative to fp32 (0.5 = half the fp32 cost); None if unmeasured."""
        ratios: dict[str, float | None] = {}
        for name, weight in self.weights.items():
            if weight <= 0:
                continue
            if name == "latency":
                if trial.speedup:
                    ratios[name] = 1.0 / trial.speedup
                elif trial.latency is not None and self.baseline_latency:
                    ratios[name] = trial.latency / self.baseline_latency
                else:
                    ratios[name] = None
            else:
                size = trial.model_size
                ratios[name] = size / self.baseline_size if size is not None and self.baseline_size else None
        return ratios

    def relative_cost(self, trial: Trial) -> float | None:
        """Weighted mean of `ratios` (1.0 = fp32); None when a weighted objective is unmeasured."""
        ratios = self.ratios(trial)
        if not ratios or any(r is None for r in ratios.values()):
            return None
        total = sum(self.weights[name] for name in ratios)
        return sum(self.weights[name] * r for name, r in ratios.items() if r is not None) / total

    def cost(self, trial: Trial) -> float:
        """Weighted cost for ranking (1.0 = fp32); an unmeasured objective counts as no gain over fp32."""
        ratios = self.ratios(trial)
        if not ratios:
            return 0.0
        total = sum(self.weights[name] for name in ratios)
        return sum(self.weights[name] * (1.0 if r is None else r) for name, r in ratios.items()) / total


def pareto_front(trials: Sequence[Trial], higher_is_better: bool = True) -> list[Trial]:
    """Passing trials not dominated on (score, latency, size); unmeasured values are ignored."""
    candidates = [t for t in trials if t.passed and t.score is not None]

    def vector(t: Trial) -> tuple[float, float, float]:
        return (
            score_key(t.score, higher_is_better),
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
