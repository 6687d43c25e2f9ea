"""Trial records: one evaluated tune config and everything measured about it."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from inc_core.space.tune_config import TuneConfig


class TrialState(enum.StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"  # evaluated; ``passed`` says whether it met the goal
    FAILED = "failed"  # an exception, NaN score or timeout; ``error`` says which


@dataclass(frozen=True)
class Trial:
    """One proposal and its outcome.

    ``number`` is the runner's id (order of start); ``seq`` is the strategy's proposal
    order, which decides ties and the parallel "lowest index wins" rule.
    ``score`` is the scalar accuracy (see `Evaluator.score`); ``passed``: it meets the
    accuracy criterion. ``latency`` in seconds, ``model_size`` in bytes, both None when
    not measured. ``speedup``: fp32 latency / this latency, timed interleaved in one
    benchmark (a paired ratio), ``speedup_error`` its relative standard error (log scale;
    None when the adaptor's benchmark does not report one); ``compression``: fp32 size / this size; ``gain``: the
    weighted objective's improvement over fp32 (0.4 = 1.4x better); ``met``: it meets
    the goal — passed, and a gain of at least ``min_gain`` (see `inc_core.evaluate.goal`).
    """

    number: int
    config: TuneConfig
    seq: int = 0
    stage: str = ""
    state: TrialState = TrialState.RUNNING
    metrics: Mapping[str, float] = field(default_factory=dict)
    score: float | None = None
    passed: bool = False
    latency: float | None = None
    model_size: int | None = None
    speedup: float | None = None
    speedup_error: float | None = None
    compression: float | None = None
    gain: float | None = None
    met: bool = False
    error: str | None = None
    started_at: float = 0.0
    ended_at: float = 0.0
    cached: bool = False  # answered from history (resume) or a duplicate, not re-evaluated

    @property
    def failed(self) -> bool:
        return self.state is TrialState.FAILED

    @property
    def duration(self) -> float:
        return max(0.0, self.ended_at - self.started_at)

    def with_(self, **changes: Any) -> Trial:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the config in full)."""
        return {
            "number": self.number,
            "seq": self.seq,
            "stage": self.stage,
            "state": self.state.value,
            "metrics": dict(self.metrics),
            "score": self.score,
            "passed": self.passed,
            "latency": self.latency,
            "model_size": self.model_size,
            "speedup": self.speedup,
            "speedup_error": self.speedup_error,
            "compression": self.compression,
            "gain": self.gain,
            "met": self.met,
            "error": self.error,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "config": self.config.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trial:
        return cls(
            number=int(data["number"]),
            config=TuneConfig.from_dict(data["config"]),
            seq=int(data.get("seq", 0)),
            stage=str(data.get("stage", "")),
            state=TrialState(data["state"]),
            metrics=dict(data.get("metrics") or {}),
            score=data.get("score"),
            passed=bool(data.get("passed")),
            latency=data.get("latency"),
            model_size=data.get("model_size"),
            speedup=data.get("speedup"),
            speedup_error=data.get("speedup_error"),
            compression=data.get("compression"),
            gain=data.get("gain"),
            met=bool(data.get("met")),
            error=data.get("error"),
            started_at=float(data.get("started_at", 0.0)),
            ended_at=float(data.get("ended_at", 0.0)),
        )
