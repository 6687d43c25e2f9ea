"""The goal: a config is worth shipping when it passes the accuracy criterion *and*
beats fp32 on the weighted objective by ``min_gain``.

``gain = 1 / relative_cost - 1``: a paired speed-up of 1.4x (latency objective) is a
gain of 0.4. A config that runs every op in fp32 (the float model itself) never meets
the goal, however it measures. ``min_gain=None`` is INC's accuracy-only rule; so is a run whose adaptor
cannot measure the objective (``measurable=False``: the gain is unknown).

The verdict is judged on the speed-up's lower confidence bound (`CONFIDENCE_Z` standard
errors below the measured ratio, when the benchmark reports its error): on a 50 µs
model timing noise alone can read 1.1x, and "met" must not be a coin flip. The
reported ``gain`` stays the measured one. A measurement whose interval straddles
``min_gain`` is `undecided`: the trial job times it again, longer, before the verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from inc_core.config.objectives import Objectives
from inc_core.history.trial import Trial, TrialState

NO_GAIN = "no config faster (or smaller, per the objectives) than fp32 passed the accuracy criterion"
NO_PASS = "no config passed the accuracy criterion"
CONFIDENCE_Z = 2.0
"""Standard errors below the measured speed-up at which a gain is judged (one-sided ~98%)."""


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

    def sure_gain(self, trial: Trial) -> float | None:
        """The gain at the speed-up's lower confidence bound (the measured gain when no error is known)."""
        return self._gain_at(trial, -CONFIDENCE_Z)

    def undecided(self, trial: Trial) -> bool:
        """Whether ``min_gain`` lies inside the gain's confidence interval: more timing would settle it."""
        if not self.needs_gain or not trial.speedup_error or self.min_gain is None:
            return False
        low, high = self._gain_at(trial, -CONFIDENCE_Z), self._gain_at(trial, CONFIDENCE_Z)
        return low is not None and high is not None and low < self.min_gain <= high

    def _gain_at(self, trial: Trial, errors: float) -> float | None:
        if trial.speedup and trial.speedup_error:
            trial = trial.with_(speedup=trial.speedup * math.exp(errors * trial.speedup_error))
        return self.gain(trial)

    def judge(self, trial: Trial) -> Trial:
        """``trial`` with ``compression``, ``gain`` and ``met`` filled in."""
        size, base = trial.model_size, self.objectives.baseline_size
        compression = base / size if size and base else None
        gain = self.gain(trial)
        met = trial.state is TrialState.COMPLETE and trial.passed and bool(trial.config.ops)
        if met and not trial.config.reduces_precision():
            met = False
        if met and self.needs_gain:
            sure = self.sure_gain(trial)
            met = sure is not None and self.min_gain is not None and sure >= self.min_gain
        return trial.with_(compression=compression, gain=gain, met=met)

    def reason_not_met(self, trials: list[Trial]) -> str:
        """Why no trial met the goal, in words."""
        passed = [t for t in trials if t.passed]
        if not passed:
            return NO_PASS
        if self.needs_gain:
            measured = [t for t in passed if t.gain is not None]
            if not measured:
                return NO_GAIN
            best = max(measured, key=lambda t: t.gain or 0.0)
            noise = ""
            if best.speedup_error and (best.gain or 0.0) >= (self.min_gain or 0.0):
                noise = f" ± {best.speedup_error:.1%} timing noise: not surely above"
            return NO_GAIN + f" (best passing gain {best.gain:+.1%}{noise}, needed {self.min_gain:+.1%})"
        return NO_PASS
