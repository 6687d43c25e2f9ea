"""Trials on real worker processes: the killable process pool and a Dask LocalCluster."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from inc_core import AdaptorError, ConfigError, TrialState, TuningConfig, autotune
from inc_core.history import TrialHistory
from inc_core.testing import SyntheticAdaptor, SyntheticModel, synthetic_accuracy

MODEL = SyntheticModel(16, "few_sensitive", seed=8, n_sensitive=2)


def tune(tmp_path: Path, eval_fn=synthetic_accuracy, model=MODEL, **kwargs):
    kwargs.setdefault("strategy", "toy")
    kwargs.setdefault("max_trials", 20)
    return autotune(model, TuningConfig(run_dir=tmp_path, **kwargs), eval_fn, adaptor=SyntheticAdaptor())


class KillWorkerOnce:
    """Eval that SIGKILLs its own worker process the first time it sees a quantized model."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __call__(self, model: SyntheticModel) -> float:
        if model.config is not None and not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return synthetic_accuracy(model)


class HangOnFallback:
    """Eval that never returns for configs with an fp32 op (a hung evaluation)."""

    def __call__(self, model: SyntheticModel) -> float:
        if model.config is not None and model.config.float_ops():
            time.sleep(3600)
        return synthetic_accuracy(model)


class _Unloadable:
    def __reduce__(self):
        return (_import_missing_framework, ())


def _import_missing_framework():
    raise ModuleNotFoundError("No module named 'imaginary_framework'")


class NeedsFramework:
    """An eval whose state cannot be rebuilt in a worker (as if the framework were missing there)."""

    def __init__(self) -> None:
        self.state = _Unloadable()

    def __call__(self, model: SyntheticModel) -> float:
        return synthetic_accuracy(model)


def test_process_pool_matches_inline(tmp_path) -> None:
    inline = tune(tmp_path / "inline")
    pooled = tune(tmp_path / "pool", executor="process", workers=2)
    assert pooled.best_config == inline.best_config
    assert [t.config for t in pooled.trials] == [t.config for t in inline.trials]
    assert pooled.best_model.config == pooled.best_config  # re-quantized in the driver


def test_killed_worker_trial_is_rerun_once(tmp_path) -> None:
    marker = tmp_path / "killed"
    result = tune(tmp_path / "run", KillWorkerOnce(marker), executor="process", workers=2)
    assert marker.exists(), "the scenario did not kill a worker"
    reference = tune(tmp_path / "ref")
    assert result.best_config == reference.best_config
    with TrialHistory(tmp_path / "run" / "history.sqlite") as history:
        configs = [t.config for t in history.trials()]
    assert len(configs) == len(set(configs)), "a config appears twice in the history"
    assert all(t.state is TrialState.COMPLETE for t in result.trials)


def test_hung_trial_is_killed_and_the_run_goes_on(tmp_path) -> None:
    start = time.monotonic()
    result = tune(tmp_path, HangOnFallback(), executor="process", workers=2, trial_timeout=1.5, max_trials=4)
    assert time.monotonic() - start < 60
    timed_out = [t for t in result.trials if t.failed]
    assert timed_out and all("per-trial timeout of 1.5 s" in t.error for t in timed_out)
    assert len(result.trials) == 4 and result.trials[0].state is TrialState.COMPLETE


def test_unpicklable_eval_fn_is_a_clear_error(tmp_path) -> None:
    lock = threading.Lock()

    def eval_fn(model):
        with lock:
            return synthetic_accuracy(model)

    with pytest.raises(ConfigError, match=r"the eval_fn cannot be sent to worker processes.*module level"):
        tune(tmp_path, eval_fn, executor="process")


def test_worker_that_cannot_load_the_job_is_reported_once(tmp_path, caplog) -> None:
    with pytest.raises(AdaptorError, match=r"no trial worker could start: ModuleNotFoundError.*imaginary_framework"):
        tune(tmp_path, NeedsFramework(), executor="process", workers=2)
    reports = [r for r in caplog.records if "could not start" in r.getMessage()]
    assert len(reports) == 1


def test_dask_local_cluster_matches_inline(tmp_path) -> None:
    inline = tune(tmp_path / "inline")
    distributed = tune(tmp_path / "dask", executor="dask", workers=2)
    assert distributed.best_config == inline.best_config
    assert distributed.met_goal == inline.met_goal


def test_dask_killed_worker_is_rescheduled(tmp_path) -> None:
    marker = tmp_path / "killed"
    result = tune(tmp_path / "run", KillWorkerOnce(marker), executor="dask", workers=2)
    assert marker.exists()
    assert result.best_config == tune(tmp_path / "ref").best_config
    with TrialHistory(tmp_path / "run" / "history.sqlite") as history:
        configs = [t.config for t in history.trials()]
    assert len(configs) == len(set(configs))


def test_unreachable_scheduler_fails_fast_naming_the_address(tmp_path) -> None:
    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        tune(tmp_path, executor="dask://127.0.0.1:9")
    assert time.monotonic() - start < 15
    assert not (tmp_path / "history.sqlite").exists() or not TrialHistory(tmp_path / "history.sqlite").trials()


def test_unknown_executor(tmp_path) -> None:
    with pytest.raises(ConfigError, match="unknown executor 'ray'"):
        tune(tmp_path, executor="ray")


def test_mpi_pool_matches_inline(tmp_path) -> None:
    import json
    import subprocess
    import sys

    script = Path(__file__).parent / "scripts" / "mpi_tuning.py"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}

    def run(run_dir: Path, executor: str) -> dict:
        out = subprocess.run(
            [sys.executable, str(script), str(run_dir), executor], env=env, capture_output=True, text=True, timeout=180
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert run(tmp_path / "mpi", "mpi") == run(tmp_path / "inline", "inline")
