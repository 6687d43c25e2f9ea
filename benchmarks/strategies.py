"""Every strategy on the synthetic profiles at N = 50, 500, 5000 ops, to a 1% relative goal.

For each (strategy, profile, N): evaluations until the goal was met (or the cap), whether
it was met, the chosen config's latency relative to fp32, the strategy's own time per
trial (inside ask/tell, sensitivity calls excluded) and the tuner's whole overhead per
trial (wall time minus quantize/evaluate/benchmark). Writes docs/benchmarks/strategies.md.

    python benchmarks/strategies.py [--sizes 50 500 5000] [--strategies auto basic ...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

from inc_core import TuneStrategy, TuningConfig, autotune
from inc_core.plugins import get_plugin_manager
from inc_core.testing import PROFILES, SyntheticAdaptor, SyntheticModel, synthetic_accuracy

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "strategies.md"
STRATEGIES = ("auto", "basic", "conservative", "mse", "mse_v2", "hawq_v2", "exhaustive", "random", "bayesian", "tpe")
BLACK_BOX = {"exhaustive", "random", "bayesian", "tpe"}


def cap(strategy: str, n_ops: int) -> int:
    """Trial budget: guided strategies get enough to finish (basic needs about 2N + C), black-box ones 100."""
    return 100 if strategy in BLACK_BOX else 3 * n_ops + 100


class Timed(SyntheticAdaptor):
    """The synthetic adaptor, timing the work that is not the tuner's (quantize, benchmark, size)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds = 0.0

    def _timed(self, fn, *args):
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.seconds += time.perf_counter() - start

    def quantize(self, model, tune_cfg, calibration):
        return self._timed(super().quantize, model, tune_cfg, calibration)

    def benchmark(self, model, calibration):
        return self._timed(super().benchmark, model, calibration)

    def model_size(self, model):
        return self._timed(super().model_size, model)

    def op_sensitivity(self, *args, **kwargs):
        return self._timed(super().op_sensitivity, *args, **kwargs)


class StrategyClock:
    """Accumulates time spent inside a strategy class's ask/tell (minus sensitivity calls)."""

    def __init__(self, cls: type[TuneStrategy], adaptor: Timed) -> None:
        self.cls, self.adaptor, self.seconds = cls, adaptor, 0.0
        self._ask, self._tell = cls.ask, cls.tell

    def __enter__(self) -> StrategyClock:
        clock = self

        def timed(method):
            def wrapper(strategy, *args, **kwargs):
                start, adaptor_before = time.perf_counter(), clock.adaptor.seconds
                try:
                    return method(strategy, *args, **kwargs)
                finally:
                    clock.seconds += time.perf_counter() - start - (clock.adaptor.seconds - adaptor_before)

            return wrapper

        self.cls.ask, self.cls.tell = timed(self._ask), timed(self._tell)
        return self

    def __exit__(self, *_: object) -> None:
        self.cls.ask, self.cls.tell = self._ask, self._tell


def measure(strategy: str, profile: str, n_ops: int) -> dict[str, object]:
    model = SyntheticModel(n_ops, profile, seed=0)
    adaptor = Timed()
    evals = {"seconds": 0.0}

    def eval_fn(m: SyntheticModel) -> float:
        start = time.perf_counter()
        try:
            return synthetic_accuracy(m)
        finally:
            evals["seconds"] += time.perf_counter() - start

    cls = get_plugin_manager().strategies.get(strategy).cls
    with tempfile.TemporaryDirectory() as tmp, StrategyClock(cls, adaptor) as clock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = TuningConfig(
            strategy=strategy, run_dir=Path(tmp) / "run", max_trials=cap(strategy, n_ops), tolerable_loss=0.01
        )
        start = time.perf_counter()
        result = autotune(model, config, eval_fn, adaptor=adaptor)
        wall = time.perf_counter() - start
    trials = max(1, len(result.trials))
    best = result.best_trial
    latency = best.latency / result.baseline_latency if best and best.latency and result.baseline_latency else None
    return {
        "evals": len(result.trials),
        "met": result.met_goal,
        "latency": latency,
        "strategy_ms": 1e3 * clock.seconds / trials,
        "overhead_ms": 1e3 * (wall - evals["seconds"] - adaptor.seconds) / trials,
        "cap": cap(strategy, n_ops),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500, 5000])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    parser.add_argument("--profiles", nargs="+", default=list(PROFILES))
    args = parser.parse_args()
    rows = []
    for n_ops in args.sizes:
        for profile in args.profiles:
            for strategy in args.strategies:
                r = measure(strategy, profile, n_ops)
                latency = f"{r['latency']:.2f}" if r["latency"] else "-"
                row = (
                    f"| {strategy} | {profile} | {n_ops} | {r['evals']} | {'yes' if r['met'] else 'no'} "
                    f"| {latency} | {r['strategy_ms']:.2f} | {r['overhead_ms']:.1f} | {r['cap']} |"
                )
                rows.append(row)
                print(row, flush=True)
    lines = [
        "# Strategies on the synthetic model",
        "",
        "`python benchmarks/strategies.py` (nox -s bench_strategies), 1% relative goal, `timeout=0`",
        "(stop at the first passing config), synthetic adaptor with noisy sensitivity scores (seed 0).",
        "*evals*: trials evaluated (until the goal or the cap); *latency*: the chosen config's latency",
        "relative to fp32; *strategy ms/trial*: time inside the strategy's ask/tell (sensitivity",
        "computation excluded: that is the adaptor's); *overhead ms/trial*: all the tuner's own time",
        "(history, logging, bookkeeping), i.e. wall time minus quantize/evaluate/benchmark.",
        "",
        "| strategy | profile | N | evals | met | latency | strategy ms/trial | overhead ms/trial | cap |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
