"""Evaluation function of the outlier-MLP example: top-1 accuracy on the held-out images in eval.npz."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent


@cache
def _eval_data() -> tuple[np.ndarray, np.ndarray]:
    with np.load(HERE / "eval.npz") as data:
        return data["x"], data["y"]


def accuracy(model: Any) -> float:
    """Top-1 accuracy of ``model`` (an onnx.ModelProto or .onnx path) on the held-out digits."""
    from inc_onnx import session

    x, y = _eval_data()
    logits = session(model, threads=1).run(None, {"input": x})[0]
    return float((logits.argmax(axis=1) == y).mean())
