from __future__ import annotations

import time

from inc_core.measure.timing import interleaved_latency, median_latency, recorded_errors, settle_slower


def test_warmup_is_not_timed_and_the_median_ignores_outliers() -> None:
    calls = []

    def run() -> None:
        calls.append(None)
        if len(calls) <= 2 or len(calls) == 5:  # slow warm-up runs and one slow timed run
            time.sleep(0.05)

    latency = median_latency(run, warmup=2, repetitions=5)
    assert len(calls) == 7
    assert latency < 0.01


def test_interleaved_ratio_survives_a_slow_phase() -> None:
    """Both runs slow down 5x for a stretch (load from elsewhere): the ratio stays 2 (a mean would not)."""
    rounds = {"n": 0}

    def a() -> None:
        rounds["n"] += 1
        time.sleep(0.001 * (5 if 10 <= rounds["n"] < 16 else 1))

    def b() -> None:
        time.sleep(0.002 * (5 if 10 <= rounds["n"] < 16 else 1))

    fa, fb = interleaved_latency(
        [a, b], warmup=0, min_repetitions=20, max_repetitions=20, min_seconds=0, rel_precision=0
    )
    assert 1.7 < fb / fa < 2.3
    assert 0.0009 < fa < 0.002


def test_interleaved_stops_once_the_ratio_is_precise() -> None:
    calls = {"a": 0}

    def a() -> None:
        calls["a"] += 1
        time.sleep(0.002)

    def b() -> None:
        time.sleep(0.003)

    interleaved_latency([a, b], warmup=0, min_repetitions=5, min_seconds=0, max_repetitions=500, rel_precision=0.05)
    assert 5 <= calls["a"] < 500


def test_a_fast_model_is_timed_for_min_seconds_not_stopped_by_the_round_cap() -> None:
    calls = {"n": 0}

    def fast() -> None:
        calls["n"] += 1

    started = time.perf_counter()
    interleaved_latency([fast, fast], warmup=0, max_repetitions=10, min_seconds=0.2, rel_precision=0)
    assert time.perf_counter() - started >= 0.2 and calls["n"] > 20


def test_bursty_load_widens_the_recorded_error() -> None:
    """A burst of load that slows one run for 20 consecutive rounds of 100: a robust per-round
    error ignores those rounds as outliers, the block medians show the ratio is not settled."""
    rounds = {"n": 0}

    def a() -> None:
        rounds["n"] += 1
        time.sleep(0.0005)

    def b() -> None:
        time.sleep(0.0005 * (1.4 if 40 <= rounds["n"] < 60 else 1.0))

    def c() -> None:
        time.sleep(0.0005)

    kwargs = {"warmup": 0, "min_repetitions": 100, "max_repetitions": 100, "min_seconds": 0, "rel_precision": 0}
    with recorded_errors() as bursty:
        interleaved_latency([a, b], **kwargs)
    with recorded_errors() as steady:
        interleaved_latency([a, c], **kwargs)
    assert len(bursty) == len(steady) == 2
    assert bursty[1] > 2 * steady[1] and bursty[1] > 0.03
    with recorded_errors() as outside:
        pass
    interleaved_latency([a, c], **kwargs)
    assert outside == []  # only calls inside the block report


def test_settle_slower_stops_timing_a_run_slower_in_two_warm_rounds() -> None:
    """Inside `settle_slower(2)`, a run 5x slower than the first is called only in the warmup and
    one confirming round, and valued from them. One 1.5x slower, slow only on its cold first
    call, or slow once in a warm round (a burst of load), is timed as usual."""
    calls = {"hopeless": 0, "slow": 0, "cold": 0, "burst": 0}

    def spin(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    def counted(name: str, seconds: float, slow_call: int | None = None):
        def run() -> None:
            calls[name] += 1
            spin(0.01 if calls[name] == slow_call else seconds)

        return run

    runs = [
        lambda: spin(0.001),
        counted("hopeless", 0.005),
        counted("slow", 0.0015),
        counted("cold", 0.001, slow_call=1),
        counted("burst", 0.001, slow_call=2),
    ]
    kwargs = {"warmup": 2, "min_repetitions": 10, "min_seconds": 0}
    with settle_slower(2.0), recorded_errors() as errors:
        latencies = interleaved_latency(runs, **kwargs)
    assert calls["hopeless"] == 3  # two warmup rounds, one confirming round
    assert min(calls["slow"], calls["cold"], calls["burst"]) >= 12
    assert 3.5 < latencies[1] / latencies[0] < 6 and errors[1] is None
    assert 1.2 < latencies[2] / latencies[0] < 1.9 and errors[2] is not None
    assert errors[3] is not None and errors[4] is not None
    calls["hopeless"] = 0
    interleaved_latency(runs, **kwargs)
    assert calls["hopeless"] >= 12  # outside the block every run is timed


def test_the_benchmark_cap_comes_from_the_environment(monkeypatch) -> None:
    import pytest

    from inc_core import ConfigError
    from inc_core.measure.timing import benchmark_cap, share_of

    monkeypatch.setenv("INC_BENCHMARK_MAX_SECONDS", "0.05")
    assert benchmark_cap() == 0.05 and share_of(100.0, 0.5) == 0.05
    started = time.perf_counter()
    interleaved_latency([lambda: time.sleep(0.001)], warmup=0, min_seconds=1.0, rel_precision=0)
    assert time.perf_counter() - started < 0.5
    monkeypatch.setenv("INC_BENCHMARK_MAX_SECONDS", "soon")
    with pytest.raises(ConfigError, match="INC_BENCHMARK_MAX_SECONDS: expected seconds"):
        benchmark_cap()
