"""`inc tune` / `history` / `report` end to end in subprocesses: resume, executors, the ONNX example."""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "examples" / "onnx_digits"

SYNTHETIC = """\
model:
  factory: inc_core.testing:SyntheticModel
  args: {n_ops: 40, profile: few_sensitive, seed: 3}
evaluation:
  function: inc_core.testing:synthetic_accuracy
tuning:
  strategy: toy
  tolerable_loss: 0.001
  timeout: 600
  max_trials: 2
run_dir: out
"""


PASSING = (  # full int8 of a flat-profile model passes 1%: toy meets the goal at its first config
    SYNTHETIC.replace("max_trials: 2", "max_trials: 8").replace("few_sensitive", "flat").replace("0.001", "0.01")
)


def inc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inc_core.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(str(dict(attrs)["src"]))
        self._in_title = tag == "title"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def check_report(run_dir: Path) -> Page:
    page_file = run_dir / "report" / "index.html"
    page = Page()
    page.feed(page_file.read_text(encoding="utf-8"))
    page.close()
    assert page.images, "the report shows no charts"
    for source in page.images:
        assert source.startswith("data:image/png;base64,"), "the page must be self-contained"
        assert base64.b64decode(source.partition(",")[2])[:4] == b"\x89PNG"
    return page


def test_resume_with_a_bigger_budget_evaluates_only_new_trials(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(SYNTHETIC)
    first = inc("tune", "run.yaml", "--json", cwd=tmp_path)
    assert first.returncode == 1, first.stderr  # 0.1% loss is not reachable in 2 trials
    assert json.loads(first.stdout)["trials"] == 2

    (tmp_path / "run.yaml").write_text(SYNTHETIC.replace("max_trials: 2", "max_trials: 4"))
    second = inc("tune", "run.yaml", "--resume", "--json", cwd=tmp_path)
    summary = json.loads(second.stdout)
    assert summary["trials"] == 4
    history = json.loads(inc("history", "out", "--json", cwd=tmp_path).stdout)
    assert [t["number"] for t in history["trials"]] == [1, 2, 3, 4]
    assert len({json.dumps(t["config"], sort_keys=True) for t in history["trials"]}) == 4
    assert history["run"]["tuning"]["max_trials"] == 4  # run.yaml holds the resolved config of the last start


def test_resolved_run_yaml_runs_again_and_names_its_executor(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(PASSING)
    done = inc("tune", "run.yaml", "--executor", "threads", "--workers", "2", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load((tmp_path / "out" / "run.yaml").read_text())
    assert resolved["tuning"]["executor"] == "threads" and resolved["tuning"]["workers"] == 2
    assert resolved["run_dir"] == str((tmp_path / "out").resolve())
    assert resolved["model"]["framework"] == "synthetic"
    # the resolved file is itself a valid run file (everything absolute): resume through it
    again = inc("tune", str(tmp_path / "out" / "run.yaml"), "--resume", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["trials"] == json.loads(done.stdout)["trials"]


def test_history_table_shows_config_metrics_and_verdict(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(SYNTHETIC)
    inc("tune", "run.yaml", cwd=tmp_path)
    table = inc("history", "out", cwd=tmp_path)
    assert table.returncode == 0
    text = table.stdout
    assert "strategy toy, relative loss <= 0.001, max_trials 2" in text
    assert "(fp32) ->" in text and "vs fp32" in text and "smaller" in text and "trials from" in text
    assert "goal NOT met after 2 trials" in text and "max_trials" in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_report_from_the_cli(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(PASSING)
    assert inc("tune", "run.yaml", cwd=tmp_path).returncode == 0
    done = inc("report", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    check_report(tmp_path / "out")


def test_report_without_history_is_bad_input(tmp_path: Path) -> None:
    done = inc("report", "nowhere", cwd=tmp_path)
    assert done.returncode == 2 and "no tuning history here" in done.stderr


@pytest.mark.skipif(importlib.util.find_spec("inc_onnx") is None, reason="inc-onnx not installed")
def test_onnx_digits_tune_history_report_resume(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(
        f"""\
model: {DIGITS / "digits_cnn.onnx"}
calibration: {DIGITS / "calib.npz"}
evaluation: {DIGITS / "evaluate.py"}:accuracy
tuning:
  strategy: auto
  tolerable_loss: 0.01
  objectives: {{model_size: 1.0}}  # this tiny CNN is smaller, not faster, in int8 on a CPU
  timeout: 600
  max_trials: 4
run_dir: out
"""
    )
    done = inc("tune", "run.yaml", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["met_goal"] and 1 <= summary["trials"] <= 4
    assert Path(summary["model_path"]).suffix == ".onnx"
    resolved = yaml.safe_load((tmp_path / "out" / "run.yaml").read_text())
    assert resolved["model"]["framework"] == "onnx"

    history = json.loads(inc("history", "out", "--json", cwd=tmp_path).stdout)
    assert len(history["trials"]) == summary["trials"] and history["result"]["met_goal"]

    assert inc("report", "out", cwd=tmp_path).returncode == 0
    check_report(tmp_path / "out")

    resumed = inc("tune", "run.yaml", "--resume", "--json", cwd=tmp_path)
    assert resumed.returncode == 0 and json.loads(resumed.stdout)["trials"] == summary["trials"]


LOCAL_MODULE = """\
from inc_core.testing import SyntheticModel, synthetic_accuracy


def build(n_ops: int, seed: int = 0):
    return SyntheticModel(n_ops, "flat", seed=seed)


def accuracy(model, scale: float = 1.0) -> float:
    return synthetic_accuracy(model) * scale


def calib():
    return [1, 2, 3]
"""


def test_user_module_next_to_the_run_file_also_reaches_process_workers(tmp_path: Path) -> None:
    """``myeval:accuracy`` finds myeval.py beside the run file, from another cwd and in spawned workers."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "myeval.py").write_text(LOCAL_MODULE)
    (project / "run.yaml").write_text(
        """\
model: {factory: myeval:build, args: {n_ops: 20, seed: 1}}
calibration: myeval:calib
evaluation: {function: myeval:accuracy, args: {scale: 1.0}}
tuning: {strategy: toy, tolerable_loss: 0.01, max_trials: 6, executor: process, workers: 2}
run_dir: out
"""
    )
    done = inc("tune", str(project / "run.yaml"), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["met_goal"] and summary["run_dir"] == str(project / "out")
    trials = json.loads(inc("history", str(project / "out"), "--json", cwd=tmp_path).stdout)["trials"]
    assert all(t["state"] == "complete" for t in trials), [t["error"] for t in trials]


def test_the_synthetic_example_run_file(tmp_path: Path) -> None:
    done = inc("tune", str(ROOT / "examples" / "synthetic" / "run.yaml"), "--run-dir", "demo", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["met_goal"] and (tmp_path / "demo" / "best_config.yaml").exists()
