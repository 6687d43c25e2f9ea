"""Importing inc_core and loading every installed plugin must not import heavy frameworks."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "onnxruntime", "onnx", "optuna", "dask", "scipy", "sklearn", "torchao")

PROBE = f"""
import json, sys
import inc_core
from inc_core.plugins.manager import make_plugin_manager
pm = make_plugin_manager(strict=True)
print(json.dumps({{
    "strategies": pm.strategies.names(),
    "adaptors": pm.adaptors.names(),
    "heavy": [m for m in {HEAVY!r} if m in sys.modules],
}}))
"""


def test_plugins_load_without_heavy_imports() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    assert data["heavy"] == []
    assert "synthetic" in data["adaptors"] and "toy" in data["strategies"]
