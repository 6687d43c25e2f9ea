"""Shipping benchmark: is the tuned model worth shipping? Cases a user would recognise x strategies.

    python benchmarks/shipping.py [--quick] [--cases NAME ...] [--strategies NAME ...]
                                  [--max-trials N] [--fresh] [--out docs/benchmarks/shipping.md]

Cases (`benchmarks/shipping_cases.py`): EfficientNet-Lite0 with ImageNet weights through
inc-onnx and inc-torch, a seeded BERT-style encoder exported to ONNX with its attention
mask, and the outlier-MLP / digits-CNN examples with a brute-force oracle
(`benchmarks/shipping_oracle.py`). Each case x strategy is one `autotune` run with the
user's defaults (1% relative loss, ``timeout=0``: stop at the first config that meets the
goal, ``max_trials`` capped per case) and measures:

* evaluations (trials) made, and the trial that first met the goal;
* met (``TuningResult.met_goal``) and the tuned model's score;
* speed-up vs fp32 at 1 and 2 intra-op threads, measured here: fp32 and tuned timed
  round-robin in one process (`inc_core.measure.timing.interleaved_latency`), so machine load
  slows both alike;
* size ratio (fp32 bytes / tuned bytes) and ops left in a float dtype;
* tuner overhead share: wall time of the run outside the user's eval function / total.

Results merge into ``shipping.json`` next to the markdown (rows keyed by case and
strategy), so ``--cases``/``--strategies`` rerun parts; ``--fresh`` starts over.
``--quick``: smaller eval sets and caps (a smoke run, not for the docs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)  # benchmarks/onnx.py and torch.py must not shadow the packages

from benchmarks.shipping_cases import BERT_EVAL_TEXTS, CASE_NAMES, Case, build_cases  # noqa: E402
from benchmarks.shipping_oracle import fewest_float_ops  # noqa: E402
from benchmarks.shipping_report import render  # noqa: E402

STRATEGIES = ("auto", "basic", "conservative", "random", "tpe", "bayesian", "mse", "mse_v2", "exhaustive")
TOLERABLE_LOSS = 0.01
OUT = ROOT / "docs" / "benchmarks" / "shipping.md"


class TimedEval:
    """The user's eval function, with the seconds spent inside it counted."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.durations: list[float] = []
        self.__name__ = "score"

    @property
    def seconds(self) -> float:
        return sum(self.durations)

    @property
    def calls(self) -> int:
        return len(self.durations)

    def __call__(self, model: Any) -> float:
        start = time.perf_counter()
        try:
            return self.fn(model)
        finally:
            self.durations.append(time.perf_counter() - start)


@contextlib.contextmanager
def torch_threads(case: Case, threads: int) -> Iterator[None]:
    """torch's intra-op thread count for a torch case (ONNX sessions take theirs at creation)."""
    if case.framework != "torch":
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


PAIRED_REPEATS = 3
"""Independent paired measurements (fresh sessions each) per model and thread count; the median is shown."""


def paired_speedups(case: Case, model: Any) -> dict[str, Any]:
    """fp32 and ``model`` timed round-robin at 1 and 2 threads: medians (ms), fp32/tuned and its spread.

    Each of `PAIRED_REPEATS` measurements builds its own runners (sessions), so one
    measurement's state (a burst of load, a session's warm-up) does not decide the row.
    """
    from inc_core.measure.timing import interleaved_latency

    out: dict[str, Any] = {}
    for threads in (1, 2):
        samples = []
        for _ in range(PAIRED_REPEATS):
            with torch_threads(case, threads):
                runs = [case.runner(case.model, threads), case.runner(model, threads)]
                samples.append(interleaved_latency(runs, min_repetitions=5, min_seconds=1.0, max_seconds=8.0))
        fp32, tuned = sorted(samples, key=lambda s: s[0] / s[1])[len(samples) // 2]
        ratios = [a / b for a, b in samples]
        out[f"{threads}t"] = {
            "fp32_ms": fp32 * 1e3, "tuned_ms": tuned * 1e3, "speedup": fp32 / tuned,
            "speedup_range": [min(ratios), max(ratios)],
        }  # fmt: skip
    return out


def describe(config: Any, default_recipes: dict[str, Any]) -> str:
    """Op counts per dtype/mode, plus the recipe values that differ from the defaults."""
    changed = " ".join(f"{k}={v}" for k, v in sorted(config.recipes.items()) if default_recipes.get(k) != v)
    return config.summary(4).split(" | ")[0] + (f"; {changed}" if changed else "")


def trial_record(trial: Any, default_recipes: dict[str, Any]) -> dict[str, Any]:
    config = trial.config
    return {
        "number": trial.number,
        "stage": trial.stage,
        "state": str(trial.state),
        "score": trial.score,
        "passed": trial.passed,
        "met": trial.met,
        "speedup": trial.speedup,
        "speedup_error": trial.speedup_error,
        "float_ops": len(config.float_ops()),
        "config": describe(config, default_recipes),
        "error": (trial.error or "")[:200] or None,
    }


def default_recipes(case: Case) -> dict[str, Any]:
    """The first (default) value of each recipe knob the case's adaptor offers."""
    adaptor = case.adaptor()
    try:
        return {name: values[0] for name, values in adaptor.capability(case.model).recipes.items() if values}
    finally:
        adaptor.close()


def tune(
    case: Case, strategy: str, max_trials: int, timings: dict[str, Any], recipes: dict[str, Any]
) -> dict[str, Any]:
    """One autotune run of ``case`` with ``strategy``, measured (``recipes``: the defaults, for display)."""
    from inc_core import TuningConfig, autotune

    metric = TimedEval(case.metric)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="inc-shipping-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = TuningConfig(
            strategy=strategy,
            tolerable_loss=TOLERABLE_LOSS,
            timeout=0,
            max_trials=max_trials,
            run_dir=Path(tmp) / "run",
        )
        started = time.perf_counter()
        result = autotune(case.model, config, metric, calib_data=case.calib, adaptor=case.adaptor())
        wall = time.perf_counter() - started
        best = result.best_config
        trials = result.trials
        first_met = next((i + 1 for i, t in enumerate(trials) if t.met), None)
        row: dict[str, Any] = {
            "case": case.name,
            "strategy": strategy,
            "max_trials": max_trials,
            "evals": len(trials),
            "first_met": first_met,
            "failed": sum(1 for t in trials if t.failed),
            "met": result.met_goal,
            "reason": result.reason,
            "stop_reason": str(result.stop_reason),
            "baseline_score": result.baseline_score,
            "target_score": result.target_score,
            "score": result.best_trial.score if result.best_trial else None,
            "tuner_speedup": result.speedup,
            "ops": len(best) if best is not None else None,
            "float_ops": len(best.float_ops()) if best is not None else None,
            "best_config": describe(best, recipes) if best is not None else "fp32 (no config)",
            "wall_s": wall,
            "eval_s": metric.seconds,
            "eval_calls": metric.calls,
            "baseline_eval_s": metric.durations[0] if metric.durations else None,
            "overhead_share": max(0.0, wall - metric.seconds) / wall if wall > 0 else None,
            "cost_model_s": (result.cost_model or {}).get("seconds"),
            "trials": [trial_record(t, recipes) for t in trials],
        }
        if best is not None and best.reduces_precision():
            key = best.to_json()
            if key not in timings:
                sizer = case.adaptor()
                try:
                    size_ratio = sizer.model_size(case.model) / sizer.model_size(result.best_model)
                finally:
                    sizer.close()
                timings[key] = {"size_ratio": size_ratio, **paired_speedups(case, result.best_model)}
            row.update(timings[key])
        else:
            row.update({"size_ratio": 1.0, "1t": None, "2t": None})
    row["load"] = [load_before, os.getloadavg()[0]]
    return row


def run_oracle(case: Case) -> dict[str, Any]:
    """The brute-force oracle, with the oracle config's paired speed-ups."""
    from inc_core import Calibration

    oracle = fewest_float_ops(case, TOLERABLE_LOSS)
    adaptor = case.adaptor()
    try:
        model = adaptor.quantize(case.model, oracle.best_config, Calibration(case.calib))
        timing = paired_speedups(case, model)
        size_ratio = adaptor.model_size(case.model) / adaptor.model_size(model)
    finally:
        adaptor.close()
    return {**oracle.to_dict(), **timing, "size_ratio": size_ratio}


def load_results(path: Path, fresh: bool) -> dict[str, Any]:
    if fresh or not path.exists():
        return {"rows": [], "oracles": {}, "cases": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller eval sets and trial caps (smoke run)")
    parser.add_argument("--cases", nargs="+", default=list(CASE_NAMES), choices=CASE_NAMES)
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    parser.add_argument("--max-trials", type=int, default=None, help="override every case's trial cap")
    parser.add_argument("--verbose", action="store_true", help="the tuner's INFO log (every trial) on stderr")
    parser.add_argument("--fresh", action="store_true", help="drop earlier results in the JSON instead of merging")
    parser.add_argument(
        "--bert-eval-texts",
        type=int,
        default=BERT_EVAL_TEXTS,
        help=f"texts the encoder's metric embeds (default {BERT_EVAL_TEXTS}; the overhead share follows it)",
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"markdown to write (JSON next to it; default {OUT})")
    args = parser.parse_args(argv)

    from inc_core import get_plugin_manager

    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("inc").setLevel(logging.INFO if args.verbose else logging.WARNING)

    installed = set(get_plugin_manager().strategies.names())
    missing = [s for s in args.strategies if s not in installed]
    if missing:
        parser.error(f"strategies not installed: {missing}; installed: {sorted(installed)}")
    json_path = args.out.with_suffix(".json")
    results = load_results(json_path, args.fresh)
    started, load_start = time.perf_counter(), os.getloadavg()
    for case in build_cases(args.cases, args.quick, args.bert_eval_texts):
        print(f"== {case.title}", file=sys.stderr, flush=True)
        results["cases"][case.name] = {"title": case.title, "framework": case.framework, **case.details}
        if case.oracle:
            results["oracles"][case.name] = run_oracle(case)
            print(f"   oracle: {results['oracles'][case.name]['fewest_float_ops']} float ops", file=sys.stderr)
        timings: dict[str, Any] = {}
        recipes = default_recipes(case)
        for strategy in args.strategies:
            row = tune(case, strategy, args.max_trials or case.max_trials, timings, recipes)
            row["quick"] = args.quick
            results["rows"] = [r for r in results["rows"] if (r["case"], r["strategy"]) != (case.name, strategy)]
            results["rows"].append(row)
            speed = row["2t"]["speedup"] if row.get("2t") else None
            print(f"   {strategy:12s} evals={row['evals']:3d} met={row['met']!s:5s} score={row['score']} "
                  f"speedup2t={speed} wall={row['wall_s']:.1f}s", file=sys.stderr, flush=True)  # fmt: skip
    results["runs"] = [*results.get("runs", []), {
        "argv": sys.argv[1:], "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "seconds": round(time.perf_counter() - started), "load_start": load_start, "load_end": os.getloadavg(),
        "cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine(),
    }]  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    args.out.write_text(render(results, STRATEGIES), encoding="utf-8")
    print(f"wrote {args.out} and {json_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
