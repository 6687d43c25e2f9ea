"""`TrialBook`: the trials a strategy has seen, in proposal order, and the best of them.

The run owns one book and hands it to its strategy through the context
(``context.book``), so the strategy, the stop rule and the saved result read the same
best trial, chosen by one rule (`TrialBook.better`). Optuna's split is the model: the
sampler proposes, the study owns the trials.
"""

from __future__ import annotations

from collections.abc import Callable

from inc_core.config.criterion import better_score
from inc_core.history.trial import Trial, TrialState


class TrialBook:
    """Consumed trials and the best one: meeting the goal beats passing only, then objective, then score."""

    def __init__(self, objective_key: Callable[[Trial], tuple[float, ...]], higher_is_better: bool) -> None:
        self.objective_key = objective_key
        self.higher_is_better = higher_is_better
        self.trials: list[Trial] = []  # as the strategy consumed them, in proposal order
        self.best: Trial | None = None

    def consider(self, trial: Trial) -> Trial | None:
        """Fold ``trial`` into the best (listing it in ``trials`` is the strategy's part); return the best."""
        if trial.state is TrialState.COMPLETE and (self.best is None or self.better(trial, self.best)):
            self.best = trial
        return self.best

    def better(self, a: Trial, b: Trial) -> bool:
        """Whether ``a`` is a better result than ``b``; ties go to the earlier proposal."""
        if a.met != b.met:
            return a.met
        if a.passed != b.passed:
            return a.passed
        if a.passed:
            ka, kb = self.objective_key(a), self.objective_key(b)
            return ka < kb or (ka == kb and a.seq < b.seq)
        if a.score != b.score:
            return better_score(a.score, b.score, self.higher_is_better)
        return a.seq < b.seq
