"""The ONNX digits example tuned on a real Dask LocalCluster (worker processes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from inc_core import TuningConfig, autotune
from inc_onnx.testing import ArgmaxAgreement

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "onnx_digits"


def test_digits_on_dask_matches_inline(tmp_path) -> None:
    model = onnx.load(EXAMPLE / "digits_cnn.onnx")
    with np.load(EXAMPLE / "calib.npz") as data:
        calib = {name: data[name] for name in data.files}
    with np.load(EXAMPLE / "eval.npz") as data:
        score = ArgmaxAgreement(model, {"input": data["x"][:200]})

    def tune(run_dir: Path, **executor) -> object:
        config = TuningConfig(strategy="basic", run_dir=run_dir, tolerable_loss=0.005, max_trials=6, timeout=3600,
                              objectives={}, **executor)  # fmt: skip
        return autotune(model, config, score, calib_data=calib)

    inline = tune(tmp_path / "inline")
    distributed = tune(tmp_path / "dask", executor="dask", workers=2)
    assert [t.config for t in distributed.trials] == [t.config for t in inline.trials]
    assert [t.score for t in distributed.trials] == [t.score for t in inline.trials]
    assert distributed.best_config == inline.best_config
    assert all(t.error is None for t in distributed.trials)
    assert distributed.model_path is not None and distributed.model_path.is_file()
