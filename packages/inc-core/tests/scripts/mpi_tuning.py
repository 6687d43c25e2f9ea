"""Tune the synthetic model on MPI workers; prints a JSON summary. Run it with an mpiexec on PATH."""

from __future__ import annotations

import json
import sys

from inc_core import TuningConfig, autotune
from inc_core.testing import SyntheticAdaptor, SyntheticModel, synthetic_accuracy

if __name__ == "__main__":
    model = SyntheticModel(16, "few_sensitive", seed=8, n_sensitive=2)
    executor = sys.argv[2]
    config = TuningConfig(strategy="toy", run_dir=sys.argv[1], executor=executor, workers=2, max_trials=20)
    result = autotune(model, config, synthetic_accuracy, adaptor=SyntheticAdaptor())
    print(json.dumps({"best": result.best_config.to_json(), "trials": len(result.trials)}))
