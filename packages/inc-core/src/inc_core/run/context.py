"""`RunContext`: the run as its strategy sees it (`inc_core.strategy.context.StrategyContext`).

Built once the baseline and the cost model are known; the sensitivity scores it hands
out are cached in the history, so a resumed run does not compute them again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from inc_core.adaptor.base import SENSITIVITY_METHODS
from inc_core.config.criterion import score_key
from inc_core.config.objectives import Objectives
from inc_core.config.tuning import TuningConfig
from inc_core.errors import ConfigError
from inc_core.evaluate.goal import Goal
from inc_core.history.store import TrialHistory
from inc_core.history.trial import Trial
from inc_core.measure.cost import CostModel
from inc_core.run.monitor import TuningMonitor
from inc_core.space.tune_config import TuneConfig
from inc_core.strategy.book import TrialBook

SensitivityFn = Callable[[str, TuneConfig, Sequence[str] | None], Mapping[str, float]]


def _digest(names: Sequence[str]) -> str:
    """A short stable key for a list of op names (a 10,000-op list would bloat the cache key)."""
    return hashlib.sha1("\n".join(names).encode(), usedforsecurity=False).hexdigest()


class RunSettings:
    """The budget and direction of a run, read from its config and monitor (run and context alike)."""

    config: TuningConfig
    monitor: TuningMonitor

    @property
    def seed(self) -> int:
        return self.config.random_seed

    @property
    def higher_is_better(self) -> bool:
        return self.config.higher_is_better

    @property
    def timeout(self) -> float:
        return float(self.config.timeout)

    @property
    def max_trials(self) -> int:
        return self.config.max_trials

    def elapsed(self) -> float:
        return self.monitor.elapsed()

    def trials_used(self) -> int:
        return self.monitor.trials_count


@dataclass
class RunContext(RunSettings):
    """Goal, budget and services of one run, read by its strategy."""

    config: TuningConfig
    monitor: TuningMonitor
    history: TrialHistory
    objectives: Objectives
    goal: Goal
    book: TrialBook
    baseline_score: float
    target_score: float
    cost_model: CostModel | None
    compute_sensitivity: SensitivityFn

    @property
    def min_gain(self) -> float | None:
        """The gain over fp32 a config needs to meet the goal; None when only accuracy counts."""
        return self.goal.min_gain if self.goal.needs_gain else None

    def objective_key(self, trial: Trial) -> tuple[float, ...]:
        return objective_key(self.objectives, trial, self.higher_is_better)

    def sensitivity(self, method: str, config: TuneConfig, ops: Sequence[str] | None = None) -> Mapping[str, float]:
        """Per-op scores (higher = more sensitive), cached in the history."""
        if method not in SENSITIVITY_METHODS:
            raise ConfigError(f"unknown sensitivity method {method!r}; valid: {', '.join(SENSITIVITY_METHODS)}")
        key = method if ops is None else f"{method}:{_digest(sorted(ops))}"
        cached = self.history.get_sensitivity(key, config)
        if cached is not None:
            return cached
        scores = dict(self.compute_sensitivity(method, config, ops))
        self.history.put_sensitivity(key, config, scores)
        return scores


def objective_key(objectives: Objectives, trial: Trial, higher_is_better: bool) -> tuple[float, ...]:
    """Sort key among passing trials, lower = better: the weighted cost, then the score."""
    return (objectives.cost(trial), score_key(trial.score, higher_is_better))
