"""End to end on a BERT-style layer: the default space keeps the mask out of static int8 (issue 10)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from inc_core import TuningConfig, autotune
from inc_onnx import OnnxAdaptor
from inc_onnx.testing import masked_attention_calib, masked_attention_model


class CosineToFp32:
    """Mean cosine of the layer's outputs to the fp32 model's, on fixed inputs."""

    def __init__(self) -> None:
        self.feed = masked_attention_calib(64, seed=7)
        self.want = self._run(masked_attention_model())

    def _run(self, model) -> np.ndarray:
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return session.run(None, self.feed)[0].reshape(64, -1)

    def __call__(self, model) -> float:
        got = self._run(model)
        dots = np.sum(got * self.want, axis=1)
        return float(np.mean(dots / (np.linalg.norm(got, axis=1) * np.linalg.norm(self.want, axis=1) + 1e-12)))


def test_mask_ops_leave_static_and_every_trial_is_finite(tmp_path, caplog) -> None:
    # accuracy-only (INC's order: static first), so that the first trial is static int8 wherever allowed
    config = TuningConfig(strategy="auto", run_dir=tmp_path / "run", tolerable_loss=0.01, min_gain=None, max_trials=14)
    result = autotune(
        masked_attention_model(),
        config,
        CosineToFp32(),
        calib_data=masked_attention_calib(64),
        adaptor=OnnxAdaptor(warmup=1, repetitions=3),
    )
    assert "reach +-1e30" in caplog.text and "mask_add" in caplog.text
    for trial in result.trials:
        assert trial.config["mask_add"].mode != "static" and trial.config["softmax"].mode != "static"
        if trial.error is not None:  # ORT's entropy histogram cannot span a -3.4e38 mask: recorded, no evaluation
            assert trial.score is None and "calibration (entropy" in trial.error and "bins" in trial.error
            continue
        assert trial.score is not None and np.isfinite(trial.score)  # no inf scales, no NaN attention
    first = result.trials[0].config
    assert first["mask_add"].is_float and first["softmax"].is_float
    assert any(o.mode == "static" for o in first.values())  # elsewhere static int8 is allowed
    assert result.met_goal
