"""What a finished run achieved, in words and ratios: the end of ``inc tune`` and the head of ``inc report``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def ratio(value: float | None) -> str:
    """``3.26x``, or ``-`` when unknown."""
    return f"{value:.2f}x" if value else "-"


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s`` or ``1 h 02 min``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


@dataclass(frozen=True)
class RunSummary:
    """The figures a person reads first, from a `TuningResult.summary` dict (also stored in the history)."""

    met_goal: bool
    reason: str
    stop_reason: str
    trials: int
    baseline_score: float
    target_score: float
    best_trial: int | None
    best_score: float | None
    speedup: float | None
    compression: float | None
    baseline_latency: float | None
    best_latency: float | None
    baseline_size: int | None
    best_size: int | None
    config: str | None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSummary:
        return cls(
            met_goal=bool(data.get("met_goal")),
            reason=str(data.get("reason") or ""),
            stop_reason=str(data.get("stop_reason") or ""),
            trials=int(data.get("trials") or 0),
            baseline_score=float(data.get("baseline_score") or 0.0),
            target_score=float(data.get("target_score") or 0.0),
            best_trial=data.get("best_trial"),
            best_score=data.get("best_score"),
            speedup=data.get("speedup"),
            compression=data.get("compression"),
            baseline_latency=data.get("baseline_latency"),
            best_latency=data.get("best_latency"),
            baseline_size=data.get("baseline_model_size"),
            best_size=data.get("best_model_size"),
            config=data.get("best_config_summary"),
        )

    def verdict(self) -> str:
        """``goal met with trial 3 of 5`` / ``goal NOT met after 5 trials: <why>``."""
        if self.met_goal:
            return f"goal met with trial {self.best_trial} of {self.trials}"
        why = self.reason or self.stop_reason
        return f"goal NOT met after {self.trials} trials: {why}"

    def accuracy(self) -> str:
        """``accuracy 0.9916 (fp32) -> 0.9933 (+0.17%), target >= 0.9817``."""
        if self.best_score is None:
            return f"accuracy {self.baseline_score:.4g} (fp32), no trial scored; target {self.target_score:.4g}"
        delta = ""
        if self.baseline_score:
            delta = f" ({(self.best_score - self.baseline_score) / abs(self.baseline_score) * 100:+.2f}%)"
        relation = ">=" if self.target_score <= self.baseline_score else "<="
        return (
            f"accuracy {self.baseline_score:.4g} (fp32) -> {self.best_score:.4g}{delta}, "
            f"target {relation} {self.target_score:.4g}"
        )

    def speed(self) -> str:
        """``speed-up 1.03x (0.260 -> 0.242 ms)``."""
        if self.speedup is None and self.best_latency is None:
            return "speed-up not measured (latency is not an objective)"
        if self.baseline_latency is None or self.best_latency is None:
            return f"speed-up {ratio(self.speedup)}"
        return (
            f"speed-up {ratio(self.speedup)} ({self.baseline_latency * 1e3:.3g} ms -> {self.best_latency * 1e3:.3g} ms)"
        )

    def size(self) -> str:
        """``size 3.26x smaller (150.3 KiB -> 46.2 KiB)``."""
        if self.baseline_size is None or self.best_size is None:
            return f"size {ratio(self.compression)} smaller"
        return (
            f"size {ratio(self.compression)} smaller "
            f"({self.baseline_size / 1024:.1f} KiB -> {self.best_size / 1024:.1f} KiB)"
        )

    def lines(self) -> list[str]:
        """The end-of-run summary, one fact per line."""
        lines = [self.verdict(), self.accuracy()]
        if self.best_trial is not None:
            lines += [self.speed(), self.size()]
        if self.config:
            lines.append(f"best config: {self.config}")
        return lines
