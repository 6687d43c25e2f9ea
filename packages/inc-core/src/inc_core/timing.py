"""Latency measurement shared by adaptors: warm-up runs, then the median of timed runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


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
