"""Core overheads on the synthetic model (10,000 ops by default).

Measures: building the tuning space; one ask/tell round of the strategy base;
the tuner's own overhead per trial in a full `autotune` (history, hooks,
bookkeeping: wall time minus quantize+eval time). Writes docs/benchmarks/core.md.

    python benchmarks/core.py [--ops 10000] [--trials 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from inc_core import (
    Batch,
    Trial,
    TrialState,
    TuneStrategy,
    TuningConfig,
    TuningSpace,
    autotune,
    hookimpl,
    make_plugin_manager,
    strategy_registry,
)
from inc_core.testing import SyntheticAdaptor, SyntheticModel, synthetic_accuracy

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "core.md"


@strategy_registry
class OneByOne(TuneStrategy):
    """Falls back one op at a time (bottom-up): a batch of N proposals."""

    name = "bench_one_by_one"

    def next_tune_cfg(self):
        base = self.initial_tuning_cfg()
        yield Batch(self.space.with_float(base, [op.name]) for op in reversed(self.space.ops))


class Context:
    seed, baseline_score, target_score, higher_is_better, timeout, max_trials = 0, 1.0, 0.99, True, 0, 10**9

    def objective_key(self, trial):
        return (0.0,)

    def sensitivity(self, method, config, ops=None):
        raise NotImplementedError

    def elapsed(self):
        return 0.0

    def trials_used(self):
        return 0


class TimedEval:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, model):
        start = time.perf_counter()
        value = synthetic_accuracy(model)
        self.seconds += time.perf_counter() - start
        return value


class TimedAdaptor(SyntheticAdaptor):
    def __init__(self) -> None:
        super().__init__()
        self.seconds = 0.0

    def quantize(self, model, tune_cfg, calibration):
        start = time.perf_counter()
        try:
            return super().quantize(model, tune_cfg, calibration)
        finally:
            self.seconds += time.perf_counter() - start

    def benchmark(self, model, calibration):
        start = time.perf_counter()
        try:
            return super().benchmark(model, calibration)
        finally:
            self.seconds += time.perf_counter() - start

    def model_size(self, model):
        start = time.perf_counter()
        try:
            return super().model_size(model)
        finally:
            self.seconds += time.perf_counter() - start


class LoopClock:
    """Plugin timing the trial loop: from tuning start to the last trial's end."""

    def __init__(self) -> None:
        self.start = self.end = 0.0

    @hookimpl
    def inc_tuning_start(self, run) -> None:
        self.start = time.perf_counter()

    @hookimpl
    def inc_trial_end(self, run, trial) -> None:
        self.end = time.perf_counter()


def measure(n_ops: int, trials: int) -> list[tuple[str, str]]:
    model = SyntheticModel(n_ops, "many_mild", seed=0)
    adaptor = SyntheticAdaptor()
    start = time.perf_counter()
    space = TuningSpace(adaptor.capability(model))
    build = time.perf_counter() - start

    strategy = OneByOne(space, Context())
    rounds = []
    for number in range(1, min(trials, n_ops) + 1):
        start = time.perf_counter()
        [proposal] = strategy.ask(1)
        strategy.tell(Trial(number, proposal.config, proposal.seq, state=TrialState.COMPLETE, score=0.5))
        rounds.append(time.perf_counter() - start)

    evaluator, timed = TimedEval(), TimedAdaptor()
    with tempfile.TemporaryDirectory() as tmp:
        config = TuningConfig(
            strategy="bench_one_by_one",
            run_dir=Path(tmp) / "run",
            max_trials=trials,
            criterion="absolute",
            tolerable_loss=0,
            objectives={"latency": 1.0},
        )
        clock, pm = LoopClock(), make_plugin_manager()
        pm.register(clock)
        start = time.perf_counter()
        result = autotune(model, config, evaluator, adaptor=timed, plugin_manager=pm)
        wall = time.perf_counter() - start
    work = evaluator.seconds + timed.seconds
    per_trial = (wall - work) / max(1, len(result.trials))
    n = max(1, len(result.trials))
    loop_per_trial = (clock.end - clock.start - work + evaluator.seconds / n) / n  # the baseline eval is outside
    return [
        ("ops", f"{n_ops:,}"),
        ("build the tuning space (capability -> TuningSpace)", f"{build * 1e3:.1f} ms"),
        ("one ask/tell round, one-by-one fallback batch (median)", f"{statistics.median(rounds) * 1e3:.2f} ms"),
        ("one ask/tell round (max, incl. opening the batch)", f"{max(rounds) * 1e3:.2f} ms"),
        (f"autotune wall time, {len(result.trials)} trials", f"{wall:.2f} s"),
        ("  of which quantize + eval + benchmark + size (synthetic adaptor)", f"{work:.2f} s"),
        (
            "tuner overhead per trial in the trial loop (history, hooks, logging, strategy)",
            f"{loop_per_trial * 1e3:.1f} ms",
        ),
        (
            "tuner overhead per trial, amortised (wall - work: + space, baseline, best_config.yaml)",
            f"{per_trial * 1e3:.1f} ms",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    rows = measure(args.ops, args.trials)
    lines = [
        "# Core overheads",
        "",
        "Measured by `python benchmarks/core.py` (nox -s bench_core).",
        "",
        "| what | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in rows],
        "",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
