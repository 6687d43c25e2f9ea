"""SIGKILL the tuning process mid-run, resume it, and check nothing finished is redone."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "scripts" / "slow_tuning.py"


def finished_count(history: Path) -> int:
    if not history.exists():
        return 0
    try:
        with sqlite3.connect(history) as db:
            return db.execute("SELECT COUNT(*) FROM trials WHERE state != 'running'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def run(*args: str) -> dict:
    out = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("executor", ["inline", "process"])
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, executor) -> None:
    reference = run(str(tmp_path / "reference"), str(tmp_path / "reference.log"), "--delay", "0")
    assert reference["trials"] >= 6, "the scenario needs a run long enough to interrupt"

    run_dir, log = tmp_path / "killed", tmp_path / "killed.log"
    process = subprocess.Popen([sys.executable, str(SCRIPT), str(run_dir), str(log), "--executor", executor])
    deadline = time.monotonic() + 60
    while finished_count(run_dir / "history.sqlite") < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    with sqlite3.connect(run_dir / "history.sqlite") as db:
        finished_before = {row[0] for row in db.execute("SELECT config FROM trials WHERE state != 'running'")}
    evaluated_before = log.read_text().splitlines()

    resumed = run(str(run_dir), str(log), "--resume", "--delay", "0", "--executor", executor)
    evaluated_after = log.read_text().splitlines()[len(evaluated_before) :]

    assert len(finished_before) >= 3
    from inc_core.history import TrialHistory

    with TrialHistory(run_dir / "history.sqlite") as history:
        finished_configs = {t.config.to_json() for t in history.trials()[: len(finished_before)]}
    assert not finished_configs & set(evaluated_after), "a finished trial was evaluated again after resume"
    assert resumed["best"] == reference["best"]
    assert resumed["met_goal"] == reference["met_goal"]
    with sqlite3.connect(run_dir / "history.sqlite") as db:
        interrupted = db.execute("SELECT COUNT(*) FROM trials WHERE error LIKE 'interrupted%'").fetchone()[0]
    assert interrupted <= 2  # trials running at the kill (one per worker) are recorded failed, then retried
