"""`TuningResult`: what `autotune` returns, never None."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inc_core.history.trial import Trial
from inc_core.space.tune_config import TuneConfig


@dataclass
class TuningResult:
    """The outcome of a run.

    ``best_model``/``best_config``/``best_trial``: the best passing trial if any,
    else the best trial so far (``met_goal`` False), else the fp32 model with no
    config. ``met_goal``: the best trial passed the accuracy criterion *and* beat fp32 by
    ``min_gain`` (`inc_core.evaluate.goal`); ``reason`` says why not when it did not.
    ``speedup``/``compression``: the best trial's paired speed-up and size ratio vs fp32.
    ``cost_model``: the measured presets (`inc_core.measure.cost.CostModel.to_dict`).
    ``trials``: every trial in start order. ``pareto``: passing trials not dominated on
    (score, latency, size).
    """

    best_model: Any
    best_config: TuneConfig | None
    best_trial: Trial | None
    baseline: Mapping[str, float]
    baseline_score: float
    target_score: float
    met_goal: bool
    stop_reason: str
    trials: list[Trial] = field(default_factory=list)
    pareto: list[Trial] = field(default_factory=list)
    run_dir: Path | None = None
    model_path: Path | None = None
    config_path: Path | None = None
    baseline_latency: float | None = None
    baseline_size: int | None = None
    reason: str = ""
    cost_model: Mapping[str, Any] | None = None

    @property
    def speedup(self) -> float | None:
        return self.best_trial.speedup if self.best_trial is not None else None

    @property
    def compression(self) -> float | None:
        return self.best_trial.compression if self.best_trial is not None else None

    @property
    def evaluated_trials(self) -> list[Trial]:
        """Trials actually evaluated in this process (not answered from a resumed history)."""
        return [t for t in self.trials if not t.cached]

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (for ``--json`` and logs)."""
        best = self.best_trial
        return {
            "met_goal": self.met_goal,
            "reason": self.reason,
            "stop_reason": self.stop_reason,
            "baseline": dict(self.baseline),
            "baseline_score": self.baseline_score,
            "target_score": self.target_score,
            "trials": len(self.trials),
            "best_trial": best.number if best else None,
            "best_score": best.score if best else None,
            "best_latency": best.latency if best else None,
            "best_model_size": best.model_size if best else None,
            "speedup": self.speedup,
            "compression": self.compression,
            "baseline_latency": self.baseline_latency,
            "baseline_model_size": self.baseline_size,
            "best_config_summary": self.best_config.summary() if self.best_config else None,
            "run_dir": str(self.run_dir) if self.run_dir else None,
            "model_path": str(self.model_path) if self.model_path else None,
            "config_path": str(self.config_path) if self.config_path else None,
        }
