"""Where trials run: in-process, a killable process pool, Dask, MPI, or any Executor.

Every backend is built on a `concurrent.futures.Executor` and ships the trial job
(adaptor, fp32 model, calibration data, evaluator) to each worker **once**; a trial
then sends only its `TuneConfig`. Engines are optional and imported lazily:

=====================  =============================================================
``inline`` (default)   in the driver process, one trial at a time
``threads``            a thread pool in the driver (evals that release the GIL)
``process``            spawned worker processes; ``trial_timeout`` kills a hung trial
``dask``               a ``dask.distributed.LocalCluster`` with ``workers`` processes
``dask://HOST:PORT``   an existing Dask scheduler (dask-jobqueue, Kubernetes, ...)
``mpi``                ``mpi4py.futures.MPIPoolExecutor`` (run under ``mpiexec``)
an Executor instance   used as is; the job travels with each trial
=====================  =============================================================
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from inc_core import worker
from inc_core.errors import ConfigError

if TYPE_CHECKING:
    from inc_core.runner import TrialJob, TrialOutcome
    from inc_core.tune_config import TuneConfig

logger = logging.getLogger("inc.executor")
DASK_CONNECT_TIMEOUT = 5.0


class InlineExecutor(concurrent.futures.Executor):
    """Runs each submitted call at once in the calling thread; returns a finished future."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future


class TrialBackend:
    """Submits trials of one job to an executor.

    ``keeps_models``: trials run in the driver, so the quantized model can be kept
    (the best one is returned without re-quantizing). ``kills_timeouts``: the
    executor itself stops a trial past ``trial_timeout``; otherwise the runner
    abandons it (its worker thread finishes in the background).
    """

    keeps_models = False
    kills_timeouts = False

    def __init__(self, executor: concurrent.futures.Executor, owned: bool, close: Callable[[], None] | None = None):
        self.executor = executor
        self.owned = owned
        self._close = close

    def submit(self, config: TuneConfig) -> concurrent.futures.Future[TrialOutcome]:
        raise NotImplementedError

    def shutdown(self) -> None:
        if self.owned:
            self.executor.shutdown(wait=False, cancel_futures=True)
        if self._close is not None:
            self._close()


class InProcessBackend(TrialBackend):
    keeps_models = True

    def __init__(self, executor: concurrent.futures.Executor, owned: bool, job: TrialJob) -> None:
        super().__init__(executor, owned)
        self.job = job

    def submit(self, config: TuneConfig) -> concurrent.futures.Future[TrialOutcome]:
        return self.executor.submit(self.job, config)


class InstalledJobBackend(TrialBackend):
    """Workers received the job through their initializer; a trial sends only its config."""

    def submit(self, config: TuneConfig) -> concurrent.futures.Future[TrialOutcome]:
        return self.executor.submit(worker.run_installed, config)


class ShippedJobBackend(TrialBackend):
    """A foreign executor: the job's bytes go with each trial, installed once per worker."""

    def __init__(self, executor: concurrent.futures.Executor, blob: bytes) -> None:
        super().__init__(executor, owned=False)
        self.blob = blob

    def submit(self, config: TuneConfig) -> concurrent.futures.Future[TrialOutcome]:
        return self.executor.submit(worker.run_blob, self.blob, config)


class DaskBackend(TrialBackend):
    """The job is scattered to every Dask worker once; tasks reference it."""

    def __init__(self, client: Any, job: TrialJob, owned: bool, cluster: Any = None) -> None:
        self.client = client
        self.job_future = client.scatter(job, broadcast=True, hash=False)

        def close() -> None:
            if owned:
                client.close()
                if cluster is not None:
                    cluster.close()

        super().__init__(client.get_executor(pure=False), owned=False, close=close)

    def submit(self, config: TuneConfig) -> concurrent.futures.Future[TrialOutcome]:
        return self.executor.submit(worker.run_job, self.job_future, config)


def serialise_job(job: TrialJob, executor_name: str) -> bytes:
    """The job as cloudpickle bytes, or a `ConfigError` naming the part that cannot travel."""
    import cloudpickle

    parts = {
        "eval_fn": job.evaluator,
        "calibration data": job.calibration,
        "model": job.model,
        "adaptor": job.adaptor,
    }
    for name, part in parts.items():
        try:
            cloudpickle.dumps(part)
        except Exception as exc:
            hint = (
                " Define the eval function at module level and keep it free of open sessions/files."
                if (name == "eval_fn")
                else ""
            )
            raise ConfigError(
                f"executor {executor_name!r}: the {name} cannot be sent to worker processes "
                f"({type(exc).__name__}: {exc}).{hint}"
            ) from None
    return cloudpickle.dumps(dataclasses.replace(job, keep_model=False))


def _dask_client(spec: str, workers: int) -> tuple[Any, Any]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(f"executor {spec!r} needs dask.distributed: pip install 'dask[distributed]'") from None
    if spec == "dask":
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        return Client(cluster), cluster
    address = "tcp://" + spec.removeprefix("dask://")
    try:
        return Client(address, timeout=DASK_CONNECT_TIMEOUT), None
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"executor: cannot reach the Dask scheduler at {address} within {DASK_CONNECT_TIMEOUT:g} s ({exc})"
        ) from None


def make_backend(spec: Any, workers: int, job: TrialJob, trial_timeout: float | None = None) -> TrialBackend:
    """The backend named by ``spec`` (see the module docstring) running ``job``."""
    if spec in (None, "inline"):
        if trial_timeout:
            logger.warning("trial_timeout needs executor='process' (or threads/dask) to be enforced; ignored inline")
        return InProcessBackend(InlineExecutor(), True, job)
    if spec == "threads":
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inc-trial")
        return InProcessBackend(pool, True, job)
    if spec == "process":
        from inc_core.process_pool import KillableProcessPool

        blob = serialise_job(job, spec)
        killable = KillableProcessPool(workers, initializer=worker.install, initargs=(blob,), timeout=trial_timeout)
        backend = InstalledJobBackend(killable, owned=True)
        backend.kills_timeouts = True
        return backend
    if isinstance(spec, str) and (spec == "dask" or spec.startswith("dask://")):
        serialise_job(job, spec)  # fail early with a clear message
        client, cluster = _dask_client(spec, workers)
        return DaskBackend(client, dataclasses.replace(job, keep_model=False), owned=True, cluster=cluster)
    if spec == "mpi":
        try:
            from mpi4py.futures import MPIPoolExecutor
        except ImportError:
            raise ConfigError("executor 'mpi' needs mpi4py and an MPI library: pip install 'inc-core[mpi]'") from None
        blob = serialise_job(job, spec)
        return InstalledJobBackend(
            MPIPoolExecutor(max_workers=workers, initializer=worker.install, initargs=(blob,)), True
        )
    if isinstance(spec, concurrent.futures.Executor):
        return ShippedJobBackend(spec, serialise_job(job, type(spec).__name__))
    raise ConfigError(
        f"executor: unknown executor {spec!r}; expected 'inline', 'threads', 'process', 'dask', "
        "'dask://HOST:PORT', 'mpi' or a concurrent.futures.Executor"
    )
