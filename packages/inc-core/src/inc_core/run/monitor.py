"""`TuningMonitor`: decides when a run stops (goal met, budget spent, timeout)."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable


class StopReason(enum.StrEnum):
    GOAL_MET = "goal met (timeout=0 stops at the first config that meets it)"
    MAX_TRIALS = "max_trials reached"
    TIMEOUT = "timeout reached"
    EXHAUSTED = "the strategy has no more configs to propose"
    EMPTY_SPACE = "nothing in the model is quantizable"
    INTERRUPTED = "interrupted by the user"
    WORKERS_LOST = "all workers lost"


class TuningMonitor:
    """Counts evaluated trials and time; says whether to stop and why.

    ``max_trials`` counts distinct evaluated configs (cached answers are free).
    ``timeout`` in seconds; 0 means stop at the first config that meets the goal.
    """

    def __init__(self, max_trials: int = 100, timeout: float = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_trials = max_trials
        self.timeout = timeout
        self._clock = clock
        self.started = clock()
        self.trials_count = 0

    def add_trial_result(self) -> None:
        """Count one evaluated trial (INC's name)."""
        self.trials_count += 1

    def elapsed(self) -> float:
        return self._clock() - self.started

    def budget_left(self) -> int:
        return max(0, self.max_trials - self.trials_count)

    def stop_reason(self, goal_met: bool, strategy_finished: bool) -> StopReason | None:
        """Why to stop now, or None to go on."""
        if goal_met and self.timeout == 0:
            return StopReason.GOAL_MET
        if self.trials_count >= self.max_trials:
            return StopReason.MAX_TRIALS
        if self.timeout > 0 and self.elapsed() >= self.timeout:
            return StopReason.TIMEOUT
        if strategy_finished:
            return StopReason.EXHAUSTED
        return None

    def need_stop(self, goal_met: bool = False, strategy_finished: bool = False) -> bool:
        """INC's ``need_stop``: whether `stop_reason` gives a reason."""
        return self.stop_reason(goal_met, strategy_finished) is not None
