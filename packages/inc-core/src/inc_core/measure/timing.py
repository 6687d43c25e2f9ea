"""Latency measurement shared by adaptors.

`median_latency` times one callable. `interleaved_latency` times several round-robin
(a, b, a, b, ...: no model runs twice in a row, so none is timed with caches warm from
itself) and estimates each one's ratio to the first *within each round*, so load from
other processes on a shared machine, which slows neighbouring calls alike, cancels
out of the ratio — what "faster than fp32" means.
Repetitions adapt to the model and the noise: rounds go on until every ratio is known
to ``rel_precision``, so a quiet machine needs a few rounds and a 50 µs model gets
hundreds of runs in the time a 500 ms model gets a handful. The error of a ratio is
the larger of a robust per-round standard error and one from block medians (bursts of
load last many rounds of a fast model, so rounds are not independent samples);
`recorded_errors` hands it to the caller, which judges a gain against it. Inside
`settle_slower`, a run already several times slower than the first in every warm warmup
round is timed no further (the cost model's hopeless presets: a ConvInteger CNN at 0.06x would
otherwise take most of the benchmark).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from inc_core.errors import ConfigError

_MEDIAN_SE = 1.2533  # standard error of a median / (sigma / sqrt(n)) for normal noise
_MAD_SIGMA = 1.4826  # sigma / median absolute deviation for normal noise
DEFAULT_MAX_SECONDS = 10.0
MAX_SECONDS_VARIABLE = "INC_BENCHMARK_MAX_SECONDS"
_BLOCKS = 10  # block medians for the error of a ratio under bursty load
_SETTLE_ROUNDS = 2  # warm rounds (after the cold first) that must agree before `settle_slower` drops a run
_max_seconds: contextvars.ContextVar[float | None] = contextvars.ContextVar("inc_benchmark_seconds", default=None)
_Errors = list[float | None]
_errors: contextvars.ContextVar[_Errors | None] = contextvars.ContextVar("inc_benchmark_errors", default=None)
_settle: contextvars.ContextVar[float | None] = contextvars.ContextVar("inc_benchmark_settle", default=None)


def benchmark_cap() -> float:
    """The most one benchmark may take: ``INC_BENCHMARK_MAX_SECONDS`` if set (e.g. 0.3 in a test
    suite that checks behaviour, not speed), else 10 s."""
    raw = os.environ.get(MAX_SECONDS_VARIABLE)
    if raw is None:
        return DEFAULT_MAX_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not value > 0:
        raise ConfigError(f"{MAX_SECONDS_VARIABLE}: expected seconds (a number > 0), got {raw!r}")
    return value


def share_of(evaluation_seconds: float | None, share: float, floor: float = 0.5) -> float | None:
    """``share`` of one fp32 evaluation, at least ``floor`` and at most the default; None if unknown."""
    if evaluation_seconds is None:
        return None
    return min(benchmark_cap(), max(floor, share * evaluation_seconds))


@contextlib.contextmanager
def budget(seconds: float | None) -> Iterator[None]:
    """Cap, inside the block, the seconds one `interleaved_latency` call may take (None: the default).

    Core sets it from the fp32 evaluation time, so benchmarks stay a fraction of one
    evaluation whatever the adaptor; an adaptor's own ``max_seconds`` wins.
    """
    if seconds is None:
        yield
        return
    token = _max_seconds.set(max(float(seconds), 1e-3))
    try:
        yield
    finally:
        _max_seconds.reset(token)


@contextlib.contextmanager
def settle_slower(ratio: float) -> Iterator[None]:
    """Inside the block, `interleaved_latency` times no further a run that took more than
    ``ratio`` times the first run's time in every warmup round after the first (cold) one: its
    value is its fastest such ratio to the first run, with no error (`recorded_errors` gets
    None for it). Needs two warmup rounds or more."""
    token = _settle.set(float(ratio))
    try:
        yield
    finally:
        _settle.reset(token)


@contextlib.contextmanager
def recorded_errors() -> Iterator[list[float | None]]:
    """Inside the block, each `interleaved_latency` call leaves its runs' relative standard
    errors (log scale; the first run's of its median, the others' of their ratio to the
    first; None for a run `settle_slower` settled) in the yielded list, so core learns how
    sure a speed-up is through any adaptor that times with `interleaved_latency`; it stays
    empty for one that does not."""
    sink: list[float | None] = []
    token = _errors.set(sink)
    try:
        yield sink
    finally:
        _errors.reset(token)


def pooled(estimates: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """One ratio and its relative error from independent ``(ratio, relative error)`` measurements.

    Inverse-variance weights on the log scale. When the measurements disagree by more than
    their errors allow (chi-square above its degrees of freedom), the error is scaled up by
    the Birge ratio: each benchmark builds fresh sessions, and on a sub-ms model their
    placement shifts a whole benchmark (1.07x and 1.22x for one config) beyond its own error.
    """
    weights = [1.0 / max(error, 1e-6) ** 2 for _, error in estimates]
    total = sum(weights)
    logs = [math.log(ratio) for ratio, _ in estimates]
    centre = sum(w * x for w, x in zip(weights, logs, strict=True)) / total
    error = total**-0.5
    if len(estimates) > 1:
        chi2 = sum(w * (x - centre) ** 2 for w, x in zip(weights, logs, strict=True))
        error *= max(1.0, math.sqrt(chi2 / (len(estimates) - 1)))
    return math.exp(centre), error


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
    min_seconds: float = 0.3,
    max_seconds: float | None = None,
    rel_precision: float = 0.02,
) -> list[float]:
    """Seconds per call of each callable, timed round-robin; their ratios are paired per round.

    The first run's value is its median; every other run's is that median times the
    median of its per-round ratio to the first run. After at least ``min_repetitions``
    rounds and ``min_seconds``, stops once every ratio's standard error (of a single run:
    its median's) is below ``rel_precision`` or ``max_repetitions`` rounds are done;
    always at ``max_seconds`` (default: the current `budget`, else `benchmark_cap`).
    """
    if not runs:
        return []
    limit = max_seconds if max_seconds is not None else _max_seconds.get() or benchmark_cap()
    warm: list[list[float]] = [[] for _ in runs]
    for _ in range(max(0, warmup)):
        _round(runs, range(len(runs)), warm)
    settled = _settled(runs, warm, _settle.get())
    timed = [i for i in range(len(runs)) if i not in settled]
    by_run: list[list[float]] = [[] for _ in runs]
    times = [by_run[i] for i in timed]  # the timed runs' buckets, filled in place
    started = time.perf_counter()
    round_number = 0
    while True:
        round_number += 1
        _round(runs, timed, by_run)
        spent = time.perf_counter() - started
        if spent >= limit:
            break
        if round_number < min_repetitions or spent < min_seconds:
            continue  # a 50 µs model still gets min_seconds of timings: one burst of load is not a sample
        if round_number >= max_repetitions:
            break
        if round_number % max(1, round_number // 20) == 0 and _precise(times, rel_precision):
            break  # checked every ~5% more rounds: thousands of rounds of a fast model stay cheap
    base = float(statistics.median(times[0]))
    ratios = [1.0, *(math.exp(statistics.median(_log_ratios(t, times[0]))) for t in times[1:])]
    values = {i: base * ratio for i, ratio in zip(timed, ratios, strict=True)}
    values.update({i: base * ratio for i, ratio in settled.items()})
    sink = _errors.get()
    if sink is not None:
        errors: dict[int, float | None] = dict(zip(timed, _errors_of(times), strict=True))
        sink[:] = [errors.get(i) for i in range(len(runs))]
    return [values[i] for i in range(len(runs))]


def _round(runs: Sequence[Callable[[], object]], which: Iterable[int], into: Sequence[list[float]]) -> None:
    """Call ``runs[i]`` for each ``i`` in ``which``, in order, appending its seconds to ``into[i]``."""
    for i in which:
        start = time.perf_counter()
        runs[i]()
        into[i].append(max(time.perf_counter() - start, 1e-9))


def _settled(
    runs: Sequence[Callable[[], object]], warm: Sequence[list[float]], ratio: float | None
) -> dict[int, float]:
    """Runs (never the first) slower than ``ratio`` times the first in every warm round, with their
    fastest ratio to it; none without `settle_slower` or a warmup.

    The first round is cold (allocation, a ``torch.compile`` build: seconds) and never decides;
    a run that looks hopeless gets paired rounds with the first until `_SETTLE_ROUNDS` warm
    rounds agree, so one burst of load cannot drop it.
    """
    if ratio is None or len(warm) < 2 or not warm[0]:
        return {}

    def fastest(i: int) -> float:
        return min((t / r for t, r in zip(warm[i][1:], warm[0][1:], strict=True)), default=math.inf)

    suspects = [i for i in range(1, len(warm)) if fastest(i) > ratio]
    while suspects and len(warm[0]) - 1 < _SETTLE_ROUNDS:
        _round(runs, [0, *suspects], warm)
        suspects = [i for i in suspects if fastest(i) > ratio]
    return {i: fastest(i) for i in suspects}


def _log_ratios(times: Sequence[float], reference: Sequence[float]) -> list[float]:
    return [math.log(t / r) for t, r in zip(times, reference, strict=True)]


def _relative_error(logs: Sequence[float]) -> float:
    """Standard error of the median of ``logs`` (log scale: a relative error).

    The larger of the robust per-sample error (MAD) and the spread of the medians of
    `_BLOCKS` consecutive blocks: a burst of load on a shared machine shifts many
    neighbouring rounds together, which per-sample statistics take for precision.
    """
    centre = statistics.median(logs)
    mad = statistics.median(abs(x - centre) for x in logs)
    error = _MEDIAN_SE * _MAD_SIGMA * mad / math.sqrt(len(logs))
    size = len(logs) // _BLOCKS
    if size >= 3:
        medians = [statistics.median(logs[i * size : (i + 1) * size]) for i in range(_BLOCKS)]
        error = max(error, statistics.stdev(medians) / math.sqrt(_BLOCKS))
    return error


def _errors_of(times: Sequence[Sequence[float]]) -> list[float]:
    first = _relative_error([math.log(t) for t in times[0]])
    return [first, *(_relative_error(_log_ratios(t, times[0])) for t in times[1:])]


def _precise(times: Sequence[Sequence[float]], tolerance: float) -> bool:
    errors = _errors_of(times)
    return all(e <= tolerance for e in (errors if len(times) == 1 else errors[1:]))
