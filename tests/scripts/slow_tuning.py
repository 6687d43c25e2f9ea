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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("eval_log")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--delay", type=float, default=0.25)
    args = parser.parse_args()

    def eval_fn(m: SyntheticModel) -> float:
        if m.config is not None:
            with open(args.eval_log, "a", encoding="utf-8") as log:
                log.write(m.config.to_json() + "\n")
            time.sleep(args.delay)
        return synthetic_accuracy(m)

    config = TuningConfig(strategy="toy", run_dir=args.run_dir, tolerable_loss=0.001, max_trials=50)
    result = autotune(model(), config, eval_fn, resume=args.resume)
    print(json.dumps({"best": result.best_config.to_json(), "trials": len(result.trials), "met_goal": result.met_goal}))


if __name__ == "__main__":
    main()
