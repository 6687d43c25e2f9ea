"""Fixtures of the inc-onnx tests (graph builders live in `inc_onnx.testing`)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"


@pytest.fixture
def adaptor(tmp_path: Path):
    from inc_onnx.adaptor import OnnxAdaptor

    instance = OnnxAdaptor(repetitions=3, warmup=1, workdir=tmp_path / "adaptor")
    yield instance
    instance.close()
