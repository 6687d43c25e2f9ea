"""The progress line of `inc tune`: drawn on a terminal, silent in pipes and with NO_COLOR."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from inc_core import TuningConfig, autotune, make_plugin_manager
from inc_core.cli.progress import TuningProgress, progress_wanted
from inc_core.testing import SyntheticModel, synthetic_accuracy

RUN_FILE = """\
model:
  factory: inc_core.testing:SyntheticModel
  args: {n_ops: 30, profile: few_sensitive, seed: 2}
evaluation:
  function: inc_core.testing:synthetic_accuracy
tuning: {strategy: toy, tolerable_loss: 0.01, max_trials: 7}
run_dir: out
"""


def tune_on_a_terminal(tmp_path: Path, **env: str) -> str:
    """Run `inc tune` with stderr on a pseudo-terminal; return what the terminal showed."""
    (tmp_path / "run.yaml").write_text(RUN_FILE)
    parent, child = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    environ.update(TERM="xterm", COLUMNS="160", **env)
    process = subprocess.Popen(
        [sys.executable, "-m", "inc_core.cli", "tune", "run.yaml", "--json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=child,
        env=environ,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(parent, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    process.communicate(timeout=120)
    os.close(parent)
    assert process.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_progress_is_drawn_on_a_terminal(tmp_path: Path) -> None:
    shown = tune_on_a_terminal(tmp_path)
    assert "trial" in shown and "/7" in shown  # trial n of max
    assert "type fallback" in shown  # the strategy's stage
    assert "target 0.792" in shown and "ETA" in shown


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_no_color_silences_the_progress(tmp_path: Path) -> None:
    shown = tune_on_a_terminal(tmp_path, NO_COLOR="1")
    assert "ETA" not in shown and "/7" not in shown


def test_progress_wanted_rules() -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True)
    pipe = Console(file=io.StringIO(), force_terminal=False)
    assert progress_wanted(terminal, environ={})
    assert not progress_wanted(pipe, environ={})
    assert not progress_wanted(terminal, environ={"NO_COLOR": ""})
    assert not progress_wanted(terminal, environ={"TERM": "dumb"})


def test_progress_starts_from_the_replayed_trials_on_resume(tmp_path: Path) -> None:
    model = SyntheticModel(30, "few_sensitive", seed=2)
    autotune(
        model, TuningConfig(strategy="toy", tolerable_loss=0.001, max_trials=2, run_dir=tmp_path), synthetic_accuracy
    )
    buffer = io.StringIO()
    progress = TuningProgress(Console(file=buffer, force_terminal=True, width=160))
    pm = make_plugin_manager()
    pm.register(progress)
    try:
        tuning = TuningConfig(strategy="toy", tolerable_loss=0.001, max_trials=4, run_dir=tmp_path)
        autotune(model, tuning, synthetic_accuracy, resume=True, plugin_manager=pm)
    finally:
        pm.unregister(progress)
    text = buffer.getvalue()
    assert "2/4" in text and "4/4" in text and "1/4" not in text
