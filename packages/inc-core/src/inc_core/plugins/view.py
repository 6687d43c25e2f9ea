"""`RunView`: what lifecycle hooks may read of a run (read-only; `inc_core.run.runner.TuningRun` is one)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from inc_core.config.tuning import TuningConfig
from inc_core.history.trial import Trial
from inc_core.space.space import TuningSpace


class RunView(Protocol):
    """The run as plugins see it: its settings, space, goal and progress."""

    @property
    def config(self) -> TuningConfig: ...

    @property
    def run_dir(self) -> Path: ...

    @property
    def strategy_name(self) -> str: ...

    @property
    def space(self) -> TuningSpace | None:
        """The space searched (None before it is built)."""
        ...

    @property
    def baseline_score(self) -> float: ...

    @property
    def target_score(self) -> float: ...

    @property
    def best_trial(self) -> Trial | None: ...

    @property
    def trials(self) -> Sequence[Trial]:
        """This run's finished trials, in completion order."""
        ...

    @property
    def max_trials(self) -> int: ...

    @property
    def timeout(self) -> float: ...

    def elapsed(self) -> float: ...

    def trials_used(self) -> int: ...
