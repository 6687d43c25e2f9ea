"""`StrategyContext`: what core tells a strategy beyond the space (goal, budget, services)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from inc_core.history.trial import Trial
from inc_core.space.tune_config import TuneConfig

if TYPE_CHECKING:
    from inc_core.measure.cost import CostModel
    from inc_core.strategy.book import TrialBook


class StrategyContext(Protocol):
    """What core tells a strategy beyond the space: the goal, the budget, and services."""

    @property
    def seed(self) -> int: ...

    @property
    def baseline_score(self) -> float: ...

    @property
    def target_score(self) -> float: ...

    @property
    def higher_is_better(self) -> bool: ...

    @property
    def timeout(self) -> float: ...

    @property
    def max_trials(self) -> int: ...

    def objective_key(self, trial: Trial) -> tuple[float, ...]:
        """Sort key among passing trials (lower = better objective)."""
        ...

    def sensitivity(self, method: str, config: TuneConfig, ops: Sequence[str] | None = None) -> Mapping[str, float]:
        """Per-op sensitivity from the adaptor (higher = more sensitive), cached by core."""
        ...

    @property
    def min_gain(self) -> float | None:
        """Gain over fp32 a config needs to meet the goal (0.05 = 5%); None when only accuracy counts."""
        ...

    def elapsed(self) -> float: ...

    def trials_used(self) -> int: ...

    @property
    def book(self) -> TrialBook | None:
        """The run's trials and best trial; a context without one lets the strategy keep its own."""
        ...

    @property
    def cost_model(self) -> CostModel | None:
        """What each option kind buys on this machine, measured before any evaluation (None: unknown)."""
        ...
