"""Pre-processing and quantization import no torch and write nothing outside the adaptor's workdir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, sys, tempfile
from inc_core import Calibration, TuningSpace
from inc_onnx.adaptor import OnnxAdaptor
from inc_onnx.testing import attention_calib, attention_model, cnn_calib, cnn_model
adaptor = OnnxAdaptor(workdir=sys.argv[1])
for model, data in ((cnn_model(), cnn_calib()), (attention_model(), attention_calib())):
    space = TuningSpace(adaptor.capability(model))
    for kind in ("static", "dynamic", "weight_only"):
        ops = {op.name: next((o for o in op.options if o.mode == kind), op.options[-1]) for op in space.ops}
        adaptor.quantize(model, space.config(ops=ops), Calibration(data))
prepared = [state.prepared.preprocessed for state in adaptor._states.values()]
adaptor.close()
print(json.dumps({"torch": "torch" in sys.modules, "tools": "onnxruntime.tools" in sys.modules, "prepared": prepared}))
"""


def test_quantize_imports_no_torch_and_writes_only_its_workdir(tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    # `import onnxruntime` itself leaves a session-id file (.ses) in TMPDIR: that is the baseline
    subprocess.run([sys.executable, "-c", "import onnxruntime"], cwd=cwd, env=env, check=True, timeout=120)
    baseline = sorted((tmp_path / "tmp").iterdir())
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "work")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"torch": False, "tools": False, "prepared": [True, True]}
    assert list(cwd.iterdir()) == []  # ORT's symbolic shape inference used to dump here
    assert sorted((tmp_path / "tmp").iterdir()) == baseline  # ORT temp dirs are cleaned up


def test_incomplete_symbolic_inference_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    """A graph ORT's symbolic inference cannot finish (contrib Inverse) is still prepared; the cwd stays empty."""
    import pytest
    from onnx import TensorProto, helper

    from inc_onnx.graph import prepare
    from inc_onnx.preprocess import symbolic_shapes

    monkeypatch.chdir(tmp_path)
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Inverse", ["r"], ["y"], name="inverse", domain="com.microsoft"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, ir_version=8)  # loadable by the lowest onnxruntime
    with pytest.raises(Exception, match="incomplete"):
        symbolic_shapes(model)
    prepared = prepare(model, tmp_path / "work")
    assert prepared.preprocessed
    assert [p.name for p in tmp_path.iterdir()] == ["work"]
