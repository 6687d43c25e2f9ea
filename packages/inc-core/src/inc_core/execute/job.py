"""The worker payload: `TrialJob` turns one config into a `TrialOutcome` (quantize, evaluate, measure)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inc_core.adaptor.base import Adaptor, Calibration
from inc_core.errors import NotSupportedError
from inc_core.evaluate.evaluator import Evaluator
from inc_core.evaluate.goal import Goal
from inc_core.history.trial import Trial, TrialState
from inc_core.measure import timing
from inc_core.space.tune_config import TuneConfig

CONFIRM_BUDGET = 3.0
"""A benchmark whose speed-up leaves the goal undecided is run again with this many times its budget
(at most `inc_core.measure.timing.benchmark_cap`)."""
FAST_MODEL_SECONDS = 1e-3
"""A model whose fp32 call takes less than this is always benchmarked twice, with fresh sessions: where session
start-up (thread placement) is a large share of a call, one benchmark's pairing can be off by
more than its own error (`inc_core.measure.timing.pooled` widens the error when the two disagree)."""


_Timing = tuple[float, float | None, float | None]  # latency, speed-up over fp32, its relative error


@dataclass(frozen=True)
class TrialOutcome:
    """What a worker sends back for one config (``model`` only from in-process executors)."""

    metrics: Mapping[str, float] | None
    passed: bool = False
    latency: float | None = None
    model_size: int | None = None
    error: str | None = None
    model: Any = None
    speedup: float | None = None
    speedup_error: float | None = None


@dataclass
class TrialJob:
    """Quantize, evaluate and (if it passes) measure one config; never raises."""

    adaptor: Adaptor
    model: Any
    calibration: Calibration
    evaluator: Evaluator
    baseline: Mapping[str, float]
    measure_latency: bool
    keep_model: bool = True
    benchmark_seconds: float | None = None  # cap of one paired benchmark (`inc_core.measure.timing.budget`)
    prebuilt: Mapping[TuneConfig, Any] = field(default_factory=dict)
    """Models the cost model already built (its presets), reused when a trial asks for one."""
    goal: Goal | None = None
    """Asked whether a measured speed-up settles the verdict; if not, it is measured again (`CONFIRM_BUDGET`)."""

    def shipped(self) -> TrialJob:
        """This job as sent to other processes: no models kept or carried."""
        return dataclasses.replace(self, keep_model=False, prebuilt={})

    def __call__(self, config: TuneConfig) -> TrialOutcome:
        try:
            quantized = self.prebuilt.get(config)
            if quantized is None:
                quantized = self.adaptor.quantize(self.model, config, self.calibration)
        except Exception as exc:  # a quantizer failure fails this trial only
            return TrialOutcome(None, error=f"quantization failed: {type(exc).__name__}: {exc}")
        try:
            metrics = self.evaluator.evaluate(quantized)
        except Exception as exc:  # the user's eval function failed on this model
            return TrialOutcome(None, error=f"evaluation failed: {type(exc).__name__}: {exc}")
        passed = self.evaluator.passes(metrics, self.baseline)
        latency = size = speedup = speedup_error = None
        try:
            size = self._size(quantized)
            if passed and self.measure_latency:
                latency, speedup, speedup_error = self._speedup(config, size, quantized)
        except NotSupportedError:
            pass
        except Exception as exc:
            return TrialOutcome(metrics, passed, error=f"measuring objectives failed: {type(exc).__name__}: {exc}")
        kept = quantized if self.keep_model else None
        return TrialOutcome(metrics, passed, latency, size, model=kept, speedup=speedup, speedup_error=speedup_error)

    def _speedup(self, config: TuneConfig, size: int | None, quantized: Any) -> _Timing:
        """Latency, speed-up over fp32 and its error; timed twice when undecided or the model is fast."""
        latency, speedup, error = self._paired(quantized, self.benchmark_seconds)
        if not (speedup and error):
            return latency, speedup, error
        undecided = self._undecided(config, size, speedup, error)
        if not (undecided or latency * speedup < FAST_MODEL_SECONDS):  # fp32's time per call
            return latency, speedup, error
        cap = timing.benchmark_cap()
        seconds = (CONFIRM_BUDGET if undecided else 1.0) * (self.benchmark_seconds or cap)
        latency, again, again_error = self._paired(quantized, min(cap, seconds))
        if again and again_error:
            speedup, error = timing.pooled([(speedup, error), (again, again_error)])
        return latency, speedup, error

    def _paired(self, quantized: Any, seconds: float | None) -> _Timing:
        """Latency, speed-up over fp32 and its relative error, from one interleaved benchmark.

        Paired with fp32: the ratio, not the absolute time, says whether this config is
        faster on a shared machine.
        """
        with timing.budget(seconds), timing.recorded_errors() as errors:
            reference, latency = self.adaptor.benchmark_many([self.model, quantized], self.calibration)
        speedup = reference / latency if latency else None
        return latency, speedup, errors[1] if len(errors) == 2 else None

    def _undecided(self, config: TuneConfig, size: int | None, speedup: float, error: float) -> bool:
        if self.goal is None:
            return False
        probe = Trial(
            0, config, state=TrialState.COMPLETE, passed=True, model_size=size, speedup=speedup, speedup_error=error
        )
        return self.goal.undecided(probe)

    def _size(self, quantized: Any) -> int | None:
        try:
            return self.adaptor.model_size(quantized)
        except NotSupportedError:
            return None
