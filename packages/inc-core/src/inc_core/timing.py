"""Latency measurement shared by adaptors.

`median_latency` times one callable. `interleaved_latency` times several round-robin
(a, b, a, b, ...), so that load from other processes on a shared machine slows every
candidate alike and the *ratio* of their medians — what "faster than fp32" means — is
stable even when absolute times drift. Repetitions adapt to the model: a 50 µs model
gets hundreds of runs, a 500 ms model a handful, each stopping once the ratio is stable.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def median_latency(run: Callable[[], object], warmup: int = 3, repetitions: int = 20) -> float:
    """Median seconds of ``run()`` over ``repetitions`` timed calls after ``warmup`` untimed ones."""
    for _ in range(max(0, warmup)):
        run()
    times = []
    for _ in range(max(1, repetitions)):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(statistics.median(times))


def interleaved_latency(
    runs: Sequence[Callable[[], object]],
    *,
    warmup: int = 2,
    min_repetitions: int = 5,
    max_repetitions: int = 200,
    min_seconds: float = 0.5,
    max_seconds: float = 10.0,
    rel_precision: float = 0.02,
) -> list[float]:
    """Median seconds of each callable, timed round-robin.

    Stops once every run has ``min_repetitions`` timings and either (a) at least
    ``min_seconds`` have been spent and each median's ratio to the first run's median
    moved by less than ``rel_precision`` over the last round of repetitions, or (b)
    ``max_repetitions`` rounds or ``max_seconds`` are reached.
    """
    if not runs:
        return []
    for _ in range(max(0, warmup)):
        for run in runs:
            run()
    times: list[list[float]] = [[] for _ in runs]
    started = time.perf_counter()
    previous: list[float] | None = None
    check_every = max(1, min_repetitions)
    for round_number in range(1, max(1, max_repetitions) + 1):
        for run, bucket in zip(runs, times, strict=True):
            start = time.perf_counter()
            run()
            bucket.append(time.perf_counter() - start)
        spent = time.perf_counter() - started
        if round_number < min_repetitions:
            continue
        if spent >= max_seconds:
            break
        if round_number % check_every:
            continue
        ratios = _ratios(times)
        if spent >= min_seconds and previous is not None and _stable(previous, ratios, rel_precision):
            break
        previous = ratios
    return [float(statistics.median(bucket)) for bucket in times]


def _ratios(times: Sequence[Sequence[float]]) -> list[float]:
    first = statistics.median(times[0]) or 1e-12
    return [statistics.median(t) / first for t in times]


def _stable(before: Sequence[float], now: Sequence[float], tolerance: float) -> bool:
    return all(abs(a - b) <= tolerance * max(abs(b), 1e-12) for a, b in zip(before, now, strict=True))
