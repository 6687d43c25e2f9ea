"""Executors that run trials: anything with the `concurrent.futures.Executor` interface.

Built in: ``inline`` (in the driver process, one at a time, the default). Any
``concurrent.futures.Executor`` instance may be passed instead (a thread pool, a
Dask ``Client.get_executor()``, ``mpi4py.futures.MPIPoolExecutor``).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any

from inc_core.errors import ConfigError


class InlineExecutor(concurrent.futures.Executor):
    """Runs each submitted call at once in the calling thread; returns a finished future."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def make_executor(spec: Any, workers: int = 1) -> tuple[concurrent.futures.Executor, bool]:
    """The executor named by ``spec`` and whether the run owns it (and must shut it down)."""
    if isinstance(spec, concurrent.futures.Executor):
        return spec, False
    if spec in (None, "inline"):
        return InlineExecutor(), True
    if spec == "threads":
        return concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inc-trial"), True
    raise ConfigError(
        f"executor: unknown executor {spec!r}; expected 'inline', 'threads' or a concurrent.futures.Executor"
    )
