"""The run files shipped with the examples work with the real `inc` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("run_file", ["examples/onnx_digits/run.yaml", "examples/synthetic/run.yaml"])
def test_shipped_run_file_tunes_to_the_goal(tmp_path, run_file) -> None:
    command = [
        sys.executable,
        "-m",
        "inc_core.cli",
        "tune",
        str(ROOT / run_file),
        "--run-dir",
        str(tmp_path / "run"),
    ]
    done = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["met_goal"] and summary["trials"] >= 1
    assert (tmp_path / "run" / "best_config.yaml").is_file() and (tmp_path / "run" / "history.sqlite").is_file()
