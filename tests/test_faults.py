"""The fault suite (issue 12): kill, damage, contend for and starve tuning runs.

Real processes (``inc tune`` in subprocesses, SIGKILL), real SQLite files, a real Dask
LocalCluster. One test, or one table of cases, per numbered case of the issue:
1 history durability, 2 run-directory lock, 3 early input checks, 4 Dask workers lost,
5 threads + trial_timeout, 6 plugin calling sys.exit, 7 process-pool shutdown noise and
the smaller checks, 8 TLS to a Dask scheduler.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inc_core import TrialHistory, TuningConfig, autotune, hookimpl, make_plugin_manager
from inc_core.history import CANCELLED
from inc_core.testing import SyntheticAdaptor, SyntheticModel

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "tests" / "scripts"
DIGITS = ROOT / "examples" / "onnx_digits"
TLS = ROOT / "tests" / "data" / "tls"
OP_TYPES = ["Conv", "MatMul", "Add", "Gemm", "Mul", "Pool", "Relu", "Concat"]

RUN_FILE = f"""\
model:
  factory: inc_core.testing:SyntheticModel
  args: {{n_ops: 32, profile: many_mild, seed: 11, op_types: {OP_TYPES}}}
evaluation:
  function: {SCRIPTS / "fault_eval.py"}:slow_accuracy
tuning:
  strategy: toy
  tolerable_loss: 0.001
  max_trials: 30
run_dir: out
"""

sys.path.insert(0, str(SCRIPTS))
import fault_eval  # noqa: E402 - the eval functions live next to the scripts that use them


def write_run(tmp_path: Path, text: str = RUN_FILE, **replace: str) -> Path:
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    (tmp_path / "run.yaml").write_text(text)
    return tmp_path / "run.yaml"


def env(delay: float = 0.0, log: Path | None = None, **extra: str) -> dict[str, str]:
    values = {**os.environ, "INC_FAULT_DELAY": str(delay), **extra}
    if log is not None:
        values["INC_FAULT_LOG"] = str(log)
    return values


def inc(*args: str, cwd: Path, environ: dict[str, str] | None = None, timeout: float = 120) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "inc_core.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ or env(),
    )


def start(*args: str, cwd: Path, environ: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "inc_core.cli", *args],
        cwd=cwd,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(history: Path) -> set[str]:
    """Configs of finished trials, as another process reading the files (WAL included) sees them."""
    if not history.exists():
        return set()
    try:
        with contextlib.closing(sqlite3.connect(history)) as db:  # closed: no live reader pins the WAL index
            return {row[0] for row in db.execute("SELECT config FROM trials WHERE state != 'running'")}
    except sqlite3.Error:
        return set()


def wait_until(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the run"
        time.sleep(0.05)


def evaluated(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def finished_json(run_dir: Path) -> set[str]:
    with TrialHistory(run_dir / "history.sqlite", create=False) as history:
        return {t.config.to_json() for t in history.finished_trials()}


# 1. History durability --------------------------------------------------------------------------
def test_history_file_alone_holds_every_finished_trial_and_resume_redoes_none(tmp_path: Path) -> None:
    """SIGKILL mid-run: history.sqlite without its WAL (a copy) or with a garbage WAL loses nothing
    finished, and the kill's stale lock does not block either resume (case 2's SIGKILL half)."""
    write_run(tmp_path)
    reference = inc("tune", "run.yaml", "--json", "--run-dir", "reference", cwd=tmp_path)
    assert reference.returncode in (0, 1), reference.stderr
    best = json.loads(reference.stdout)["best_config_summary"]

    log = tmp_path / "eval.log"
    process = start("tune", "run.yaml", cwd=tmp_path, environ=env(0.3, log))
    history = tmp_path / "out" / "history.sqlite"
    wait_until(lambda: len(finished(history)) >= 3)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    done = finished(history)

    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(history, copy / "history.sqlite")  # the main file alone, as a careless backup does
    assert finished(copy / "history.sqlite") == done
    done_configs = finished_json(copy)
    (tmp_path / "out" / "history.sqlite-wal").write_bytes(os.urandom(8192))

    for run_dir in ("copy", "out"):
        before = len(evaluated(log))
        resumed = inc("tune", "run.yaml", "--resume", "--json", "--run-dir", run_dir, cwd=tmp_path, environ=env(0, log))
        assert resumed.returncode in (0, 1), resumed.stderr
        assert json.loads(resumed.stdout)["best_config_summary"] == best
        assert not set(evaluated(log)[before:]) & done_configs, f"{run_dir}: a finished trial was evaluated again"


def _drop_table(db: sqlite3.Connection, path: Path) -> None:
    db.execute("DROP TABLE trials")


def _bad_json(db: sqlite3.Connection, path: Path) -> None:
    db.execute("UPDATE trials SET metrics = '{not json' WHERE number = 2")


def _unknown_state(db: sqlite3.Connection, path: Path) -> None:
    db.execute("UPDATE trials SET state = 'paused' WHERE number = 2")


def _damaged_pages(db: sqlite3.Connection, path: Path) -> None:
    db.close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) >= 4 * page, "the history should span several pages"
    data[2 * page : 3 * page] = os.urandom(page)
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("finished")
    write_run(base)
    done = inc("tune", "run.yaml", cwd=base)
    assert done.returncode in (0, 1), done.stderr
    return base


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (_drop_table, "table 'trials' is missing"),
        (_bad_json, "trial 2: the metrics column is not a JSON object"),
        (_unknown_state, "trial 2: unknown state 'paused'"),
        (_damaged_pages, "history.sqlite: "),
    ],
    ids=["dropped-table", "bad-json", "unknown-state", "damaged-pages"],
)
def test_a_history_that_cannot_be_read_completely_stops_resume_history_and_report_with_exit_2(
    finished_run: Path, tmp_path: Path, damage: Callable[[sqlite3.Connection, Path], None], problem: str
) -> None:
    shutil.copytree(finished_run, tmp_path, dirs_exist_ok=True)
    history = tmp_path / "out" / "history.sqlite"
    db = sqlite3.connect(history, isolation_level=None)
    damage(db, history)
    db.close()
    log = tmp_path / "eval.log"
    for args in (("history", "out"), ("report", "out"), ("tune", "run.yaml", "--resume")):
        done = inc(*args, cwd=tmp_path, environ=env(0, log))
        assert done.returncode == 2, (args, done.stderr)
        assert str(history) in done.stderr or "out/history.sqlite" in done.stderr, done.stderr
        assert problem in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert not evaluated(log), "a resume that cannot read its history evaluated something"


# 2. One writer per run directory ----------------------------------------------------------------
def test_a_second_run_on_a_busy_run_directory_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    write_run(tmp_path)
    log = tmp_path / "eval.log"
    first = start("tune", "run.yaml", cwd=tmp_path, environ=env(0.3, log))
    wait_until(lambda: len(finished(tmp_path / "out" / "history.sqlite")) >= 1)
    began = time.monotonic()
    second = inc("tune", "run.yaml", "--resume", cwd=tmp_path, environ=env(0, log))
    assert second.returncode == 2, second.stderr
    assert f"in use by process {first.pid}" in second.stderr, second.stderr
    assert time.monotonic() - began < 15
    in_python = TuningConfig(strategy="toy", run_dir=tmp_path / "out", tolerable_loss=0.001)
    with pytest.raises(Exception, match=f"in use by process {first.pid}"):
        autotune(
            SyntheticModel(32, "many_mild", seed=11, op_types=OP_TYPES),
            in_python,
            fault_eval.SlowAccuracy(0),
            resume=True,
        )
    _, stderr = first.communicate(timeout=60)
    assert first.returncode in (0, 1), stderr
    assert "Traceback" not in stderr and "IntegrityError" not in stderr
    lines = evaluated(log)
    assert len(lines) == len(set(lines)), "a config was evaluated twice"


# 3. Early checks: before the baseline and before the run directory exists -----------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


DIGITS_RUN = f"""\
model:
  path: {DIGITS / "digits_cnn.onnx"}
calibration: CALIB
evaluation:
  function: {DIGITS / "evaluate.py"}:accuracy
tuning:
  strategy: basic
  objectives: {{model_size: 1.0}}
run_dir: out
"""


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"pixels": lambda x: x}, "no data for model input 'input'"),
        ({"input": lambda x: x.astype(np.float64)}, "input 'input' has dtype float64"),
        ({"input": lambda x: x[:, 0]}, "input 'input' has rank 3"),
        ({"input": lambda x: x[:, :, :4]}, "input 'input' has size 4 on axis 2"),
    ],
    ids=["name", "dtype", "rank", "shape"],
)
def test_calibration_data_that_cannot_feed_the_model_is_bad_input_before_anything_runs(
    tmp_path: Path, arrays: dict[str, Callable[[np.ndarray], np.ndarray]], message: str
) -> None:
    pixels = np.load(DIGITS / "calib.npz")["input"]
    np.savez(tmp_path / "bad.npz", **{name: make(pixels) for name, make in arrays.items()})
    write_run(tmp_path, DIGITS_RUN, CALIB=str(tmp_path / "bad.npz"))
    done = inc("tune", "run.yaml", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"calibration data file {tmp_path / 'bad.npz'}" in done.stderr and message in done.stderr, done.stderr
    assert not (tmp_path / "out").exists(), "bad input left a run directory behind"


@pytest.mark.parametrize(
    ("tuning", "message"),
    [
        ("  strategy_kwargs: {fallback_dtype: bogus}\n  strategy: auto", "option 'fallback_dtype'"),
        ("  strategy_kwargs: {batch_size: 0}\n  strategy: tpe", "option 'batch_size': Input should be greater"),
        ("  strategy: toy\n  executor: dask://127.0.0.1:PORT", "cannot reach the Dask scheduler at tcp://127.0.0.1"),
        ("  strategy: toy\n  executor: tls://127.0.0.1:PORT", "TLS needs certificates"),
    ],
    ids=["fallback-dtype", "batch-size", "dask-unreachable", "tls-without-certificates"],
)
def test_strategy_options_and_executor_are_checked_before_the_run_directory_exists(
    tmp_path: Path, tuning: str, message: str
) -> None:
    write_run(tmp_path, **{"  strategy: toy": tuning.replace("PORT", str(_free_port()))})
    log = tmp_path / "eval.log"
    done = inc("tune", "run.yaml", cwd=tmp_path, environ=env(0, log))
    assert done.returncode == 2, done.stderr
    assert message in done.stderr, done.stderr
    assert not (tmp_path / "out").exists() and not evaluated(log)


@pytest.mark.parametrize("value", ["5", ".nan", ".inf", "1.0", "-0.01"])
def test_a_tolerable_loss_without_meaning_names_its_field(tmp_path: Path, value: str) -> None:
    write_run(tmp_path, **{"tolerable_loss: 0.001": f"tolerable_loss: {value}"})
    done = inc("tune", "run.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "tuning.tolerable_loss" in done.stderr, done.stderr
    assert "model." not in done.stderr


class FailingAdaptor(SyntheticAdaptor):
    """Every quantization fails, as with calibration data the quantizer cannot use."""

    def quantize(self, model: Any, tune_cfg: Any, calibration: Any) -> Any:
        raise RuntimeError("calibration input 'x' missing")


def test_a_run_where_every_trial_failed_in_the_adaptor_is_not_goal_met(tmp_path: Path) -> None:
    config = TuningConfig(strategy="basic", run_dir=tmp_path / "run", objectives={"model_size": 1.0}, max_trials=20)
    result = autotune(SyntheticModel(12, "flat", seed=1), config, fault_eval.SlowAccuracy(0), adaptor=FailingAdaptor())
    assert all(t.failed for t in result.trials)
    assert not result.met_goal and "calibration input 'x' missing" in result.reason, result.reason


def test_a_failing_baseline_explains_itself_in_tuning_log(tmp_path: Path) -> None:
    (tmp_path / "broken_eval.py").write_text(
        "def accuracy(model):\n    raise RuntimeError('the evaluation data is gone')\n"
    )
    write_run(tmp_path, **{f"{SCRIPTS / 'fault_eval.py'}:slow_accuracy": "broken_eval.py:accuracy"})
    done = inc("tune", "run.yaml", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    logged = (tmp_path / "out" / "tuning.log").read_text()
    assert "Traceback" in logged and "the evaluation data is gone" in logged


# 4. Dask workers lost ---------------------------------------------------------------------------
@pytest.fixture
def cluster() -> Iterator[Any]:
    import cloudpickle
    from dask.distributed import Client, LocalCluster

    cloudpickle.register_pickle_by_value(fault_eval)  # workers get the eval function without the tests dir
    local = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    )
    client = Client(local)
    try:
        yield local, client
    finally:
        client.close()
        local.close()
        cloudpickle.unregister_pickle_by_value(fault_eval)


class AtTrial:
    """A plugin that runs ``action`` once, when the ``n``-th trial ends."""

    def __init__(self, n: int, action: Callable[[], None]) -> None:
        self.n, self.action, self.seen = n, action, 0

    @hookimpl
    def inc_trial_end(self, run: Any, trial: Any) -> None:
        self.seen += 1
        if self.seen == self.n:
            self.action()


def dask_config(tmp_path: Path, address: str, name: str, **kw: Any) -> TuningConfig:
    settings = {"max_trials": 12, "criterion": "absolute", "tolerable_loss": 0, "random_seed": 5, "workers": 2, **kw}
    return TuningConfig(strategy="random", run_dir=tmp_path / name, executor=address, **settings)


def tune(config: TuningConfig, plugin: Any = None, resume: bool = False) -> Any:
    pm = make_plugin_manager()
    if plugin is not None:
        pm.register(plugin)
    model = SyntheticModel(24, "many_mild", seed=2)
    return autotune(
        model, config, fault_eval.SlowAccuracy(0.3), adaptor=SyntheticAdaptor(), resume=resume, plugin_manager=pm
    )


def test_all_dask_workers_lost_stops_after_worker_wait_and_resume_loses_nothing(tmp_path: Path, cluster: Any) -> None:
    local, client = cluster
    address = local.scheduler_address.replace("tcp://", "dask://")
    reference = tune(dask_config(tmp_path, address, "reference"))
    began = time.monotonic()
    stopped = tune(dask_config(tmp_path, address, "run", worker_wait=2), AtTrial(3, lambda: local.scale(0)))
    assert stopped.stop_reason == "all workers lost"
    assert time.monotonic() - began < 20
    with TrialHistory(tmp_path / "run" / "history.sqlite", create=False) as history:
        failed = [t for t in history.trials() if t.failed]
        assert all(t.error == CANCELLED for t in failed), [t.error for t in failed]
        assert len(history.finished_trials()) < 12
    local.scale(2)
    client.wait_for_workers(2, timeout=30)
    resumed = tune(dask_config(tmp_path, address, "run"), resume=True)
    assert len(resumed.trials) == 12 and not any(t.failed for t in resumed.trials)
    assert resumed.best_config == reference.best_config


def test_dask_workers_that_come_back_within_worker_wait_lose_no_trial(tmp_path: Path, cluster: Any) -> None:
    local, _ = cluster
    address = local.scheduler_address.replace("tcp://", "dask://")

    def restart() -> None:
        local.scale(0)
        threading.Timer(1.5, local.scale, args=(2,)).start()

    result = tune(dask_config(tmp_path, address, "run", worker_wait=60), AtTrial(3, restart))
    assert result.stop_reason != "all workers lost"
    assert len(result.trials) == 12 and not any(t.failed for t in result.trials), [t.error for t in result.trials]


def test_a_killed_dask_worker_requeues_its_trial(tmp_path: Path, cluster: Any) -> None:
    local, client = cluster
    address = local.scheduler_address.replace("tcp://", "dask://")
    pids = list(client.run(os.getpid).values())
    result = tune(dask_config(tmp_path, address, "run"), AtTrial(2, lambda: os.kill(pids[0], signal.SIGKILL)))
    assert len(result.trials) == 12 and not any(t.failed for t in result.trials), [t.error for t in result.trials]


# 5. threads + trial_timeout ---------------------------------------------------------------------
def test_threads_executor_with_trial_timeout_exits_after_a_hung_trial(tmp_path: Path) -> None:
    write_run(tmp_path, **{"max_trials: 30": "max_trials: 30\n  executor: threads\n  trial_timeout: 1"})
    began = time.monotonic()
    done = inc("tune", "run.yaml", "--json", cwd=tmp_path, environ=env(0, INC_FAULT_HANG="1"), timeout=60)
    assert done.returncode in (0, 1), done.stderr
    assert time.monotonic() - began < 30, "the process waited for the hung thread"
    with TrialHistory(tmp_path / "out" / "history.sqlite", create=False) as history:
        assert "per-trial timeout" in (history.trials()[0].error or "")


# 6. A plugin calling sys.exit() at import --------------------------------------------------------
def test_a_plugin_calling_sys_exit_at_import_is_isolated_and_named(tmp_path: Path) -> None:
    from inc_core.testing.distributions import make_distribution

    site = tmp_path / "site"
    site.mkdir()
    make_distribution(site, "exit-dist", "exit_plugin", "import sys\nsys.exit(4)\n")
    environ = env(0)
    environ["PYTHONPATH"] = f"{site}{os.pathsep}{environ.get('PYTHONPATH', '')}"
    listed = inc("plugins", "--json", cwd=tmp_path, environ=environ)
    assert listed.returncode == 0, listed.stderr
    [failed] = json.loads(listed.stdout)["failed"]
    assert failed["entry_point"] == "exit_plugin" and failed["distribution"] == "exit-dist"
    assert "SystemExit" in failed["error"]
    write_run(tmp_path)
    tuned = inc("tune", "run.yaml", cwd=tmp_path, environ=environ)
    assert tuned.returncode in (0, 1) and "'exit_plugin' from distribution 'exit-dist'" in tuned.stderr


# 7. Process pool: no noise when a run ends with a trial in flight --------------------------------
def test_process_executor_ends_with_a_trial_in_flight_without_thread_tracebacks(tmp_path: Path) -> None:
    write_run(
        tmp_path,
        **{  # an unreachable goal and a run timeout: the run ends while both workers are busy
            "tolerable_loss: 0.001": "criterion: absolute\n  tolerable_loss: 0\n  timeout: 3",
            "strategy: toy": "strategy: random\n  executor: process\n  workers: 2",
        },
    )
    done = inc("tune", "run.yaml", "--json", cwd=tmp_path, environ=env(0.5))
    assert done.returncode == 1, done.stderr
    assert "Exception in thread" not in done.stderr and "handle is closed" not in done.stderr, done.stderr
    with TrialHistory(tmp_path / "out" / "history.sqlite", create=False) as history:
        assert any(t.error == CANCELLED for t in history.trials()), "the scenario needs a trial in flight at the end"


# 8. TLS to a Dask scheduler -----------------------------------------------------------------------
def test_a_tls_scheduler_with_certificates_runs_trials(tmp_path: Path) -> None:
    import cloudpickle
    from dask.distributed import LocalCluster, Security

    files = {"tls_ca_file": str(TLS / "cert.pem"), "tls_client_cert": str(TLS / "cert.pem")}
    files["tls_client_key"] = str(TLS / "key.pem")
    security = Security(
        **files,
        tls_scheduler_cert=files["tls_client_cert"],
        tls_scheduler_key=files["tls_client_key"],
        tls_worker_cert=files["tls_client_cert"],
        tls_worker_key=files["tls_client_key"],
        require_encryption=True,
    )
    cloudpickle.register_pickle_by_value(fault_eval)
    local = LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        protocol="tls://",
        security=security,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    try:
        assert local.scheduler_address.startswith("tls://")
        config = dask_config(
            tmp_path,
            local.scheduler_address,
            "run",
            max_trials=3,
            workers=1,
            dask_security={**files, "require_encryption": True},
        )
        result = tune(config)
        assert len(result.trials) == 3 and not any(t.failed for t in result.trials)
    finally:
        local.close()
        cloudpickle.unregister_pickle_by_value(fault_eval)
