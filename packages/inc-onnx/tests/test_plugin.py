"""Registration: the plugin registers the onnx adaptor without importing onnx, onnxruntime or torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from inc_core import get_plugin_manager, make_plugin_manager


def test_entry_point_registers_onnx_adaptor() -> None:
    registration = get_plugin_manager().adaptors.get("onnx")
    assert registration.source == "inc-onnx"
    assert registration.cls.__name__ == "OnnxAdaptor"


def test_registration_imports_no_framework() -> None:
    code = (
        "import json, sys\n"
        "from inc_core import make_plugin_manager\n"
        "pm = make_plugin_manager()\n"
        "print(json.dumps({'adaptors': pm.adaptors.names(), "
        "'heavy': [m for m in ('onnx', 'onnxruntime', 'torch') if m in sys.modules]}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    assert "onnx" in data["adaptors"]
    assert data["heavy"] == []


@pytest.mark.parametrize(
    ("model", "accepted"),
    [("model.onnx", True), (Path("dir/Model.ONNX"), True), ("model.pt", False), (42, False), (object(), False)],
)
def test_accepts(model: object, accepted: bool) -> None:
    from inc_onnx.adaptor import OnnxAdaptor

    assert OnnxAdaptor.accepts(model) is accepted


def test_accepts_model_proto() -> None:
    import onnx

    from inc_onnx.adaptor import OnnxAdaptor

    assert OnnxAdaptor.accepts(onnx.ModelProto())


def test_plugin_module_in_a_fresh_manager() -> None:
    import inc_onnx.plugin

    pm = make_plugin_manager(load_installed=False)
    assert "onnx" not in pm.adaptors.names()
    pm.register_plugin(inc_onnx.plugin, source="test")
    assert "onnx" in pm.adaptors.names()
