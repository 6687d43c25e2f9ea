"""The plugin registers the adaptor without importing torch (or onnxruntime)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from inc_core import get_plugin_manager

HERE = Path(__file__).resolve().parent


def _run(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_torch_adaptor_is_registered() -> None:
    from inc_torch.adaptor import TorchAdaptor

    assert get_plugin_manager().adaptors.get("torch").cls is TorchAdaptor


def test_registering_does_not_import_torch() -> None:
    _run(
        "import sys; from inc_core import get_plugin_manager; pm = get_plugin_manager();"
        "cls = pm.adaptors.get('torch').cls; assert 'torch' not in sys.modules, 'plugin imported torch';"
        "assert not cls.accepts(object()) and not cls.accepts([1, 2]); assert 'torch' not in sys.modules;"
        "assert cls.accepts('m.pt2'); import inc_torch; assert 'torch' not in sys.modules"
    )


def test_tuning_never_imports_onnxruntime() -> None:
    subprocess.run([sys.executable, str(HERE / "no_onnxruntime_check.py"), "--no-cli"], check=True, timeout=600)
