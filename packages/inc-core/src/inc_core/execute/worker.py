"""What runs inside a worker process: the trial job, installed once, reused by every trial.

The driver serialises one `TrialJob` (adaptor, fp32 model, calibration data,
evaluator, baseline) with cloudpickle and ships it to each worker once; the worker
keeps it, so the adaptor's caches (ONNX sessions, calibration statistics) are
built once per worker, not once per trial.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inc_core.execute.job import TrialJob, TrialOutcome
    from inc_core.space.tune_config import TuneConfig

_JOBS: dict[str, TrialJob] = {}
_CURRENT: list[str] = []


def payload_key(blob: bytes) -> str:
    return hashlib.sha1(blob, usedforsecurity=False).hexdigest()


def install(blob: bytes) -> None:
    """Deserialise the job once in this process (a process-pool / MPI initializer)."""
    import cloudpickle

    key = payload_key(blob)
    if key not in _JOBS:
        _JOBS[key] = cloudpickle.loads(blob)
    _CURRENT[:] = [key]


def run_installed(config: TuneConfig) -> TrialOutcome:
    """Run one trial with the job `install` put in this process."""
    if not _CURRENT:
        raise RuntimeError("no trial job installed in this worker")
    return _JOBS[_CURRENT[0]](config)


def run_blob(blob: bytes, config: TuneConfig) -> TrialOutcome:
    """Run one trial, installing the job from ``blob`` the first time this worker sees it."""
    install(blob)
    return run_installed(config)


def run_job(job: Any, config: TuneConfig) -> TrialOutcome:
    """Run one trial with a job object the engine already delivered (e.g. Dask scatter)."""
    return job(config)
