"""The goal: a config is worth shipping when it passes the accuracy criterion *and*
beats fp32 on the weighted objective by ``min_gain``.

``gain = 1 / relative_cost - 1``: a paired speed-up of 1.4x (latency objective) is a
gain of 0.4. A config that runs every op in fp32 (the float model itself) never meets
the goal, however it measures. ``min_gain=None`` is INC's accuracy-only rule; so is a run whose adaptor
cannot measure the objective (``measurable=False``: the gain is unknown).
"""

from __future__ import annotations

from dataclasses import dataclass

from inc_core.config.objectives import Objectives
from inc_core.history.trial import Trial, TrialState

NO_GAIN = "no config faster (or smaller, per the objectives) than fp32 passed the accuracy criterion"
NO_PASS = "no config passed the accuracy criterion"


@dataclass(frozen=True)
class Goal:
    """Judges trials against the accuracy gate and the gain rule."""

    objectives: Objectives
    min_gain: float | None = 0.05
    measurable: bool = True

    @property
    def needs_gain(self) -> bool:
        return self.min_gain is not None and self.measurable

    def gain(self, trial: Trial) -> float | None:
        cost = self.objectives.relative_cost(trial)
        return None if cost is None or cost <= 0 else 1.0 / cost - 1.0

    def judge(self, trial: Trial) -> Trial:
        """``trial`` with ``compression``, ``gain`` and ``met`` filled in."""
        size, base = trial.model_size, self.objectives.baseline_size
        compression = base / size if size and base else None
        gain = self.gain(trial)
        met = trial.state is TrialState.COMPLETE and trial.passed and bool(trial.config.ops)
        if met and not trial.config.reduces_precision():
            met = False
        if met and self.needs_gain:
            met = gain is not None and self.min_gain is not None and gain >= self.min_gain
        return trial.with_(compression=compression, gain=gain, met=met)

    def reason_not_met(self, trials: list[Trial]) -> str:
        """Why no trial met the goal, in words."""
        passed = [t for t in trials if t.passed]
        if not passed:
            return NO_PASS
        if self.needs_gain:
            best = max((t.gain for t in passed if t.gain is not None), default=None)
            shown = f" (best passing gain {best:+.1%}, needed {self.min_gain:+.1%})" if best is not None else ""
            return NO_GAIN + shown
        return NO_PASS
