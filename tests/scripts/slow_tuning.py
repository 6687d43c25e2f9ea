"""A tuning run whose evaluations take a while, for kill-and-resume tests.

usage: python slow_tuning.py RUN_DIR EVAL_LOG [--resume] [--delay SECONDS]
Each evaluated config's JSON is appended to EVAL_LOG (one line per evaluation).
"""

from __future__ import annotations

import argparse
import json
import time

from inc_core import TuningConfig, autotune
from inc_core.testing import SyntheticModel, synthetic_accuracy

OP_TYPES = ("Conv", "MatMul", "Add", "Gemm", "Mul", "Pool", "Relu", "Concat")


def model() -> SyntheticModel:
    return SyntheticModel(32, "many_mild", seed=11, op_types=OP_TYPES)


class LoggingEval:
    """Synthetic accuracy after a delay; appends each evaluated config to a log file."""

    def __init__(self, path: str, delay: float) -> None:
        self.path, self.delay = path, delay

    def __call__(self, m: SyntheticModel) -> float:
        if m.config is not None:
            with open(self.path, "a", encoding="utf-8") as log:
                log.write(m.config.to_json() + "\n")
            time.sleep(self.delay)
        return synthetic_accuracy(m)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("eval_log")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--delay", type=float, default=0.25)
    parser.add_argument("--executor", default="inline")
    args = parser.parse_args()

    config = TuningConfig(
        strategy="toy", run_dir=args.run_dir, tolerable_loss=0.001, max_trials=50, executor=args.executor, workers=2
    )
    eval_fn = LoggingEval(args.eval_log, args.delay)
    result = autotune(model(), config, eval_fn, resume=args.resume)
    print(json.dumps({"best": result.best_config.to_json(), "trials": len(result.trials), "met_goal": result.met_goal}))


if __name__ == "__main__":
    main()
