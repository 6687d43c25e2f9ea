"""The real `inc` command in subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

RUN_FILE = """
model:
  factory: inc_core.testing:SyntheticModel
  args: {n_ops: 60, profile: flat, seed: 2}
evaluation:
  function: inc_core.testing:synthetic_accuracy
tuning:
  strategy: toy
  tolerable_loss: 0.01
  max_trials: 10
run_dir: out
"""


def inc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inc_core.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_tune_history_and_refusal_to_overwrite(tmp_path) -> None:
    write(tmp_path, RUN_FILE)
    done = inc("tune", "run.yaml", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["met_goal"] and summary["trials"] >= 1
    assert (tmp_path / "out" / "best_config.yaml").exists() and (tmp_path / "out" / "run.yaml").exists()

    history = inc("history", "out", "--json", cwd=tmp_path)
    assert [t["number"] for t in json.loads(history.stdout)["trials"]] == list(range(1, summary["trials"] + 1))

    again = inc("tune", "run.yaml", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr

    resumed = inc("tune", "run.yaml", "--resume", "--json", cwd=tmp_path)
    assert resumed.returncode == 0 and json.loads(resumed.stdout)["trials"] == summary["trials"]


def test_goal_not_met_exits_1(tmp_path) -> None:
    write(tmp_path, RUN_FILE.replace("tolerable_loss: 0.01", "criterion: absolute\n  tolerable_loss: 0"))
    done = inc("tune", "run.yaml", cwd=tmp_path)
    assert done.returncode == 1 and "goal NOT met" in done.stderr


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (("run_dir: out", "run_dri: out"), "unknown key 'run_dri'; did you mean 'run_dir'?"),
        (("max_trials: 10", "max_trials: many"), "tuning.max_trials"),
        (
            ("function: inc_core.testing:synthetic_accuracy", "function: nowhere.module:fn"),
            "cannot import 'nowhere.module'",
        ),
        (("function: inc_core.testing:synthetic_accuracy", "function: inc_core.testing:PROFILES"), "is not callable"),
        (("strategy: toy", "strategy: nope"), "unknown strategy 'nope'; installed:"),
        (("  args: {n_ops", "  args: [n_ops"), "invalid YAML"),
    ],
)
def test_bad_run_files_give_one_clear_message(tmp_path, mutation, message) -> None:
    write(tmp_path, RUN_FILE.replace(*mutation))
    done = inc("tune", "run.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "history.sqlite").exists()


def test_missing_run_file(tmp_path) -> None:
    done = inc("tune", "absent.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "absent.yaml: no such run file" in done.stderr


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        ("model:\n  path: missing.onnx\n", "model.path: no such file"),
        ("model:\n  framework: auto\n", "model: give exactly one of 'path' (a model file) or 'factory'"),
    ],
)
def test_bad_model_section(tmp_path, replacement, message) -> None:
    text = RUN_FILE.replace(
        "model:\n  factory: inc_core.testing:SyntheticModel\n  args: {n_ops: 60, profile: flat, seed: 2}\n",
        replacement,
    )
    write(tmp_path, text)
    done = inc("tune", "run.yaml", cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr
    assert not (tmp_path / "out").exists()


def test_missing_calibration_file(tmp_path) -> None:
    write(tmp_path, RUN_FILE + "calibration: absent.npz\n")
    done = inc("tune", "run.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "calibration.path: no such file" in done.stderr
    assert not (tmp_path / "out").exists()


def test_resolved_config_is_written(tmp_path) -> None:
    write(tmp_path, RUN_FILE)
    assert inc("tune", "run.yaml", cwd=tmp_path).returncode == 0
    resolved = (tmp_path / "out" / "run.yaml").read_text()
    assert "max_trials: 10" in resolved and "tolerable_loss: 0.01" in resolved and "higher_is_better: true" in resolved


def test_history_table_and_plugins_table(tmp_path) -> None:
    write(tmp_path, RUN_FILE)
    inc("tune", "run.yaml", cwd=tmp_path)
    table = inc("history", "out", cwd=tmp_path)
    assert table.returncode == 0 and "default" in table.stdout and "verdict" in table.stdout
    plugins = inc("plugins", cwd=tmp_path)
    assert "inc-strategies" in plugins.stdout and "synthetic" in plugins.stdout
    missing = inc("history", "nowhere", cwd=tmp_path)
    assert missing.returncode == 2 and "no tuning history here" in missing.stderr


def test_progress_is_quiet_outside_a_terminal(tmp_path) -> None:
    write(tmp_path, RUN_FILE)
    done = inc("tune", "run.yaml", cwd=tmp_path)
    assert "trial" not in done.stderr.split("goal met")[0]  # no progress bar drawn into a pipe
