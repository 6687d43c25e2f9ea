"""Scale-out: eval-bound tuning on 1, 2, 4, 8 Dask workers, and the Dask overhead for instant evals.

The synthetic model's eval sleeps ``--delay`` seconds (0.5 by default): the cost of a
real evaluation that waits on I/O or an accelerator. A one-by-one fallback batch of
``--trials`` independent configs is evaluated (the goal is unreachable, so every trial
runs). Writes docs/benchmarks/scaleout.md.

    python benchmarks/scaleout.py [--trials 32] [--delay 0.5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from inc_core import Batch, TuneStrategy, TuningConfig, autotune, strategy_registry
from inc_core.testing import SyntheticAdaptor, SyntheticModel, synthetic_accuracy

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "scaleout.md"
DELAY = [0.5]


@strategy_registry
class FallbackBatchTuneStrategy(TuneStrategy):
    """All one-by-one fp32 fallbacks as one parallel batch."""

    name = "bench_fallback_batch"

    def next_tune_cfg(self):
        base = self.initial_tuning_cfg()
        yield Batch(self.space.with_float(base, [op.name]) for op in self.space.ops)


def slow_accuracy(model: SyntheticModel) -> float:
    if model.config is not None:
        time.sleep(DELAY[0])
    return synthetic_accuracy(model)


def tune(executor: str, workers: int, trials: int, eval_fn) -> tuple[float, float]:
    """(wall seconds of autotune, seconds from the first trial's start to the last one's end)."""
    model = SyntheticModel(trials, "flat", seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        config = TuningConfig(
            strategy="bench_fallback_batch",
            run_dir=Path(tmp) / "run",
            max_trials=trials,
            criterion="absolute",
            tolerable_loss=0,
            executor=executor,
            workers=workers,
            objectives={},
        )
        start = time.perf_counter()
        result = autotune(model, config, eval_fn, adaptor=SyntheticAdaptor())
        wall = time.perf_counter() - start
    assert len(result.trials) == trials, (len(result.trials), trials)
    span = max(t.ended_at for t in result.trials) - min(t.started_at for t in result.trials)
    return wall, span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--delay", type=float, default=0.5)
    args = parser.parse_args()
    DELAY[0] = args.delay
    rows = []
    base_span = None
    for workers in (1, 2, 4, 8):
        wall, span = tune("dask", workers, args.trials, slow_accuracy)
        base_span = base_span or span
        rows.append(f"| {workers} | {wall:.1f} | {span:.1f} | {base_span / span:.2f}x |")
        print(rows[-1], flush=True)
    inline_wall, inline_span = tune("inline", 1, args.trials, synthetic_accuracy)
    dask_wall, dask_span = tune("dask", 1, args.trials, synthetic_accuracy)
    overhead = (dask_span - inline_span) / args.trials
    lines = [
        "# Scale-out on Dask",
        "",
        f"`python benchmarks/scaleout.py --trials {args.trials} --delay {args.delay}` (nox -s bench_scaleout):",
        f"{args.trials} independent trials whose evaluation sleeps {args.delay} s, on a Dask LocalCluster",
        "(one process per worker, one thread each) on a 2-core machine. *Trials span* runs from the first",
        "trial's start to the last one's end; *wall* adds cluster start-up, baseline and saving.",
        "",
        "| workers | wall (s) | trials span (s) | speed-up (span) |",
        "|---|---|---|---|",
        *rows,
        "",
        "Overhead of the Dask path for instant evaluations (1 worker vs in-process):",
        "",
        "| executor | wall (s) | trials span (s) | per trial (ms) |",
        "|---|---|---|---|",
        f"| inline | {inline_wall:.2f} | {inline_span:.3f} | {1e3 * inline_span / args.trials:.1f} |",
        f"| dask, 1 worker | {dask_wall:.2f} | {dask_span:.3f} | {1e3 * dask_span / args.trials:.1f} |",
        "",
        f"Dask adds about {overhead * 1e3:.1f} ms per trial (task round trip) plus the cluster start-up.",
        "",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
