"""Executor kinds: each form ``TuningConfig.executor`` may take, how it is checked and built.

The built-in kinds are registered by core's plugin like any other; a distribution adds
one (Ray, Slurm, ...) through the ``inc_register_executors(register)`` hook with a
subclass of `ExecutorKind`. An `concurrent.futures.Executor` instance is always
accepted as is (the job travels with each trial).
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Iterable
from typing import Any, ClassVar

from inc_core.errors import ConfigError
from inc_core.execute import worker
from inc_core.execute.backends import (
    SCHEDULER_SCHEMES,
    DaemonThreadExecutor,
    DaskBackend,
    InlineExecutor,
    InProcessBackend,
    InstalledJobBackend,
    ShippedJobBackend,
    TrialBackend,
    check_reachable,
    dask_client,
    dask_security,
    serialise_job,
)
from inc_core.execute.job import TrialJob

logger = logging.getLogger("inc.executor")


class ExecutorKind:
    """One executor form: ``forms`` as users write it, `matches`, `check` (before the baseline), `make`."""

    forms: ClassVar[tuple[str, ...]] = ()
    """How the kind is written, for docs and errors (``"dask"``, ``"dask://HOST:PORT"``)."""

    @classmethod
    def matches(cls, spec: Any) -> bool:
        return spec in cls.forms

    @classmethod
    def check(cls, spec: Any, job: TrialJob, security: Any) -> None:
        """Everything checkable before the baseline (engine installed, job picklable); `ConfigError` if not."""
        serialise_job(job, str(spec))

    @classmethod
    def make(cls, spec: Any, workers: int, job: TrialJob, trial_timeout: float | None, security: Any) -> TrialBackend:
        raise NotImplementedError


class Inline(ExecutorKind):
    """In the driver process, one trial at a time (the default)."""

    forms = ("inline",)

    @classmethod
    def matches(cls, spec: Any) -> bool:
        return spec is None or spec == "inline"

    @classmethod
    def check(cls, spec: Any, job: TrialJob, security: Any) -> None:
        return None

    @classmethod
    def make(cls, spec: Any, workers: int, job: TrialJob, trial_timeout: float | None, security: Any) -> TrialBackend:
        if trial_timeout:
            logger.warning("trial_timeout needs executor='process' (or threads/dask) to be enforced; ignored inline")
        return InProcessBackend(InlineExecutor(), True, job)


class Threads(ExecutorKind):
    """Daemon threads in the driver (evals that release the GIL)."""

    forms = ("threads",)

    @classmethod
    def check(cls, spec: Any, job: TrialJob, security: Any) -> None:
        return None

    @classmethod
    def make(cls, spec: Any, workers: int, job: TrialJob, trial_timeout: float | None, security: Any) -> TrialBackend:
        return InProcessBackend(DaemonThreadExecutor(), True, job)


class Process(ExecutorKind):
    """Spawned worker processes; ``trial_timeout`` kills a hung trial."""

    forms = ("process",)

    @classmethod
    def make(cls, spec: Any, workers: int, job: TrialJob, trial_timeout: float | None, security: Any) -> TrialBackend:
        from inc_core.execute.process_pool import KillableProcessPool

        blob = serialise_job(job, spec)
        killable = KillableProcessPool(workers, initializer=worker.install, initargs=(blob,), timeout=trial_timeout)
        backend = InstalledJobBackend(killable, owned=True)
        backend.kills_timeouts = True
        return backend


class Dask(ExecutorKind):
    """A local Dask cluster (``dask``) or an existing scheduler over TCP or TLS."""

    forms = ("dask", "dask://HOST:PORT", "tls://HOST:PORT")

    @classmethod
    def matches(cls, spec: Any) -> bool:
        return isinstance(spec, str) and (spec == "dask" or spec.startswith(SCHEDULER_SCHEMES))

    @classmethod
    def check(cls, spec: Any, job: TrialJob, security: Any) -> None:
        try:
            import distributed  # noqa: F401 - only whether it is installed
        except ImportError:
            raise ConfigError(f"executor {spec!r} needs dask.distributed: pip install 'dask[distributed]'") from None
        if spec.startswith("tls://"):
            from distributed import Security

            settings: Any = dask_security(security) or Security()
            if not (settings.tls_ca_file and settings.tls_client_cert):
                raise ConfigError(
                    f"executor {spec!r}: TLS needs certificates; set dask_security (tls_ca_file, tls_client_cert, "
                    "tls_client_key) or Dask's distributed.comm.tls settings"
                )
        serialise_job(job, spec)
        check_reachable(spec)

    @classmethod
    def make(cls, spec: Any, workers: int, job: TrialJob, trial_timeout: float | None, security: Any) -> TrialBackend:
        serialise_job(job, spec)  # fail early with a clear message
        client, cluster = dask_client(spec, workers, security)
        return DaskBackend(client, job.shipped(), owned=True, cluster=cluster)


class Mpi(ExecutorKind):
    """``mpi4py.futures.MPIPoolExecutor`` (run under ``mpiexec``)."""

    forms = ("mpi",)

    @classmethod
    def make(cls, spec: Any, workers: int, job: TrialJob, trial_timeout: float | None, security: Any) -> TrialBackend:
        try:
            from mpi4py.futures import MPIPoolExecutor
        except ImportError:
            raise ConfigError("executor 'mpi' needs mpi4py and an MPI library: pip install 'inc-core[mpi]'") from None
        blob = serialise_job(job, spec)
        return InstalledJobBackend(
            MPIPoolExecutor(max_workers=workers, initializer=worker.install, initargs=(blob,)), True
        )


BUILTIN_KINDS: tuple[type[ExecutorKind], ...] = (Inline, Threads, Process, Dask, Mpi)


def forms(kinds: Iterable[type[ExecutorKind]]) -> list[str]:
    """Every form the ``kinds`` accept, in registration order (for messages and docs)."""
    return [form for kind in kinds for form in kind.forms]


def kind_of(spec: Any, kinds: Iterable[type[ExecutorKind]]) -> type[ExecutorKind] | None:
    """The kind that takes ``spec`` (None for an Executor instance); `ConfigError` if none does."""
    kinds = list(kinds)
    for kind in kinds:
        if kind.matches(spec):
            return kind
    if isinstance(spec, concurrent.futures.Executor):
        return None
    raise ConfigError(
        f"executor: unknown executor {spec!r}; expected {', '.join(repr(f) for f in forms(kinds))} "
        "or a concurrent.futures.Executor"
    )


def check_executor(spec: Any, job: TrialJob, kinds: Iterable[type[ExecutorKind]], security: Any = None) -> None:
    """Everything about ``spec`` checkable before the baseline: a known form, the engine, the job, TLS, reach."""
    kind = kind_of(spec, kinds)
    if kind is None:
        serialise_job(job, type(spec).__name__)
    else:
        kind.check(spec, job, security)


def make_backend(
    spec: Any,
    workers: int,
    job: TrialJob,
    kinds: Iterable[type[ExecutorKind]],
    trial_timeout: float | None = None,
    security: Any = None,
) -> TrialBackend:
    """The backend ``spec`` names, running ``job``; ``security``: Dask TLS settings for ``tls://``."""
    kind = kind_of(spec, kinds)
    if kind is None:
        return ShippedJobBackend(spec, serialise_job(job, type(spec).__name__))
    return kind.make(spec, workers, job, trial_timeout, security)
