"""Where trials run: in-process, a killable process pool, Dask, MPI, or any Executor.

Every backend is built on a `concurrent.futures.Executor` and ships the trial job
(adaptor, fp32 model, calibration data, evaluator) to each worker **once**; a trial
then sends only its `TuneConfig`. Engines are optional and imported lazily.
The forms ``TuningConfig.executor`` may take, and which backend each builds, are the
executor kinds of `inc_core.execute.kinds` (plugins add more).

Trust: workers receive the pickled job and the driver unpickles what they send back,
so every worker must be trusted; with ``tls://`` and ``require_encryption`` only
workers holding the cluster's certificates can join (see docs/trust.md).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from inc_core.errors import ConfigError, WorkerLostError
from inc_core.execute import worker

if TYPE_CHECKING:
    from inc_core.execute.job import TrialJob, TrialOutcome
    from inc_core.space.tune_config import TuneConfig

logger = logging.getLogger("inc.executor")
DASK_CONNECT_TIMEOUT = 5.0
SCHEDULER_SCHEMES = ("dask://", "tls://")


class DaemonThreadExecutor(concurrent.futures.Executor):
    """One daemon thread per submitted call (the runner bounds how many run at once).

    Unlike `ThreadPoolExecutor`, nothing joins these threads at interpreter exit: a
    trial abandoned at ``trial_timeout`` cannot keep the process (or a CI job) alive.
    """

    def __init__(self, thread_name_prefix: str = "inc-trial") -> None:
        self._prefix = thread_name_prefix
        self._count = 0
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        if self._shutdown:
            raise RuntimeError("cannot submit after shutdown")
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the caller through the future
                future.set_exception(exc)

        self._count += 1
        threading.Thread(target=run, name=f"{self._prefix}-{self._count}", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True  # running calls finish (or are abandoned) on their own


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
    may_lose_workers = False
    """Workers can vanish without the executor replacing them (a remote Dask cluster)."""

    def __init__(self, executor: concurrent.futures.Executor, owned: bool, close: Callable[[], None] | None = None):
        self.executor = executor
        self.owned = owned
        self._close = close

    def submit(self, config: TuneConfig) -> concurrent.futures.Future[TrialOutcome]:
        raise NotImplementedError

    def alive_workers(self) -> int | None:
        """How many workers can run trials now (None: the executor does not say)."""
        return None

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

    may_lose_workers = True

    def __init__(self, client: Any, job: TrialJob, owned: bool, cluster: Any = None) -> None:
        self.client = client
        self.job = job
        self.job_future = client.scatter(job, broadcast=True, hash=False)

        def close() -> None:
            if owned:
                client.close()
                if cluster is not None:
                    cluster.close()

        super().__init__(client.get_executor(pure=False), owned=False, close=close)

    def submit(self, config: TuneConfig) -> concurrent.futures.Future[TrialOutcome]:
        if self.job_future.status != "finished":  # every worker holding the job left: send it again
            if not self.alive_workers():
                raise WorkerLostError("no Dask worker is there to receive the trial job")
            try:
                self.job_future = self.client.scatter(self.job, broadcast=True, hash=False)
            except (OSError, TimeoutError) as exc:
                raise WorkerLostError(f"sending the trial job to the Dask workers failed ({exc})") from exc
        return self.executor.submit(worker.run_job, self.job_future, config)

    def alive_workers(self) -> int | None:
        try:
            return len(self.client.nthreads())
        except Exception:  # the scheduler itself is unreachable: no worker can run anything
            return 0


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
    return cloudpickle.dumps(job.shipped())


def dask_security(value: Any) -> Any:
    """A ``distributed.Security`` from ``TuningConfig.dask_security`` (None: Dask's own TLS settings)."""
    if value is None:
        return None
    from distributed import Security

    if isinstance(value, Security):
        return value
    if isinstance(value, Mapping):
        try:
            return Security(**value)
        except TypeError as exc:
            raise ConfigError(f"dask_security: {exc}; expected distributed.Security arguments") from None
    raise ConfigError(f"dask_security: expected a distributed.Security or a mapping, got {type(value).__name__}")


def scheduler_address(spec: str) -> str:
    """The Dask address of an executor spec: ``dask://H:P`` -> ``tcp://H:P``, ``tls://H:P`` as is."""
    return spec if spec.startswith("tls://") else "tcp://" + spec.removeprefix("dask://")


def check_reachable(spec: Any) -> None:
    """For a remote scheduler, a TCP connection to its address within a few seconds, else `ConfigError`."""
    if not (isinstance(spec, str) and spec.startswith(SCHEDULER_SCHEMES)):
        return
    import socket

    address = scheduler_address(spec)
    host, _, port = address.split("://", 1)[1].rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"executor {spec!r}: expected HOST:PORT after the scheme")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=DASK_CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise ConfigError(
            f"executor: cannot reach the Dask scheduler at {address} within {DASK_CONNECT_TIMEOUT:g} s ({exc})"
        ) from None


def dask_client(spec: str, workers: int, security: Any = None) -> tuple[Any, Any]:
    """A Dask client for ``spec`` (a LocalCluster of ``workers`` processes for ``dask``) and its cluster, if owned."""
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
    address = scheduler_address(spec)
    try:
        return Client(address, timeout=DASK_CONNECT_TIMEOUT, security=dask_security(security)), None
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"executor: cannot reach the Dask scheduler at {address} within {DASK_CONNECT_TIMEOUT:g} s ({exc})"
        ) from None
