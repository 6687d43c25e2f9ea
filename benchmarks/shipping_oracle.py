"""Brute-force oracle for the small cases: the fewest ops that must leave int8 to meet the accuracy goal.

Starting from the adaptor's default config (every op in its default int8 option), it
tries every set of k ops in fp32 for k = 0, 1, 2, ... and stops at the first k where
some set passes the accuracy criterion (``tolerable_loss`` relative to fp32's score).
All passing sets of that size are kept. Feasible for the examples (7-8 ops: at most
2^8 quantize + eval calls of a few ms each); the oracle is the bar `auto` is held to
("no more float ops than the oracle").
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from inc_core import Calibration, Criterion, TuneConfig, TuningSpace


@dataclass
class Oracle:
    """The minimal fallback sets and what finding them cost."""

    fewest_float_ops: int
    passing_sets: list[list[str]]
    scores: list[float]
    ops: int
    evaluations: int
    seconds: float
    best_config: TuneConfig

    def to_dict(self) -> dict[str, Any]:
        return {
            "fewest_float_ops": self.fewest_float_ops,
            "passing_sets": self.passing_sets,
            "scores": self.scores,
            "ops": self.ops,
            "evaluations": self.evaluations,
            "seconds": round(self.seconds, 2),
        }


def fewest_float_ops(case: Any, tolerable_loss: float, max_ops: int = 12) -> Oracle:
    """Exhaustive search over fp32 fallback sets of increasing size (``case``: a `Case`)."""
    adaptor = case.adaptor()
    started = time.perf_counter()
    try:
        space = TuningSpace(adaptor.capability(case.model))
        names = [op.name for op in space.ops]
        if len(names) > max_ops:
            raise SystemExit(f"{case.name}: {len(names)} ops is too many for the brute-force oracle (max {max_ops})")
        criterion, baseline = Criterion(tolerable_loss), case.metric(case.model)
        base = space.default_config()
        calibration = Calibration(case.calib)
        evaluations = 0
        for k in range(len(names) + 1):
            passing: list[tuple[list[str], float, TuneConfig]] = []
            for subset in itertools.combinations(names, k):
                config = space.with_float(base, subset)
                score = case.metric(adaptor.quantize(case.model, config, calibration))
                evaluations += 1
                if criterion.passes(score, baseline):
                    passing.append((list(subset), score, config))
            if passing:
                best = max(passing, key=lambda p: p[1])
                return Oracle(
                    k, [p[0] for p in passing], [p[1] for p in passing], len(names),
                    evaluations, time.perf_counter() - started, best[2],
                )  # fmt: skip
        raise SystemExit(f"{case.name}: not even the all-fp32 config passes; the metric is broken")
    finally:
        adaptor.close()
