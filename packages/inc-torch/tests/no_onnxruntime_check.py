"""Check: tuning a torch model with inc-core + inc-torch never imports onnxruntime.

    python packages/inc-torch/tests/no_onnxruntime_check.py

Exits non-zero if ``onnxruntime`` is in ``sys.modules`` after a tuning run (works
whether or not onnxruntime is installed; the lead wires it into nox/CI).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def main() -> int:
    import torch

    from inc_core import TuningConfig, autotune
    from inc_torch.testing import Agreement, TinyNet, batches, seeded

    torch.set_num_threads(1)
    model = seeded(TinyNet())
    calib = batches((1, 8, 8), n=2)
    eval_fn = Agreement(model, batches((1, 8, 8), n=1, batch=64, seed=9)[0])
    with tempfile.TemporaryDirectory() as tmp:
        config = TuningConfig(
            tolerable_loss=0.05,
            strategy="sequential",
            config_set=[{"mode": "static"}],
            max_trials=2,
            run_dir=Path(tmp) / "run",
        )
        result = autotune(model, config, eval_fn, calib_data=calib)
    assert result.trials, "no trial ran"
    loaded = sorted(name for name in sys.modules if name == "onnxruntime" or name.startswith("onnxruntime."))
    assert not loaded, f"tuning a torch model imported {loaded[:5]}"
    print(f"ok: {len(result.trials)} trial(s), onnxruntime not imported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
