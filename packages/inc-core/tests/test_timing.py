from __future__ import annotations

import time

from inc_core.timing import median_latency


def test_warmup_is_not_timed_and_the_median_ignores_outliers() -> None:
    calls = []

    def run() -> None:
        calls.append(None)
        if len(calls) <= 2 or len(calls) == 5:  # slow warm-up runs and one slow timed run
            time.sleep(0.05)

    latency = median_latency(run, warmup=2, repetitions=5)
    assert len(calls) == 7
    assert latency < 0.01
