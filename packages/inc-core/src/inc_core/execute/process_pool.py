"""A process pool whose tasks can be killed: each worker is a process the driver may SIGKILL.

`concurrent.futures.ProcessPoolExecutor` cannot stop one running task, and one dead
worker breaks the whole pool. This pool keeps N long-lived workers (spawned, so no
fork-after-threads hazards), runs an initializer once in each (installing the trial
job), and on a task past its deadline kills that worker and starts a fresh one. A
worker that dies mid-task fails only that task, with `WorkerLostError`, so the caller
can re-run it elsewhere.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cloudpickle

from inc_core.errors import TaskTimeoutError, WorkerLostError, WorkerStartError

logger = logging.getLogger("inc.executor")


def _worker_main(conn: multiprocessing.connection.Connection, init_blob: bytes | None) -> None:
    """Worker loop: run the initializer, then (task id, fn, args) messages until told to stop."""
    try:
        if init_blob is not None:
            initializer, initargs = cloudpickle.loads(init_blob)
            initializer(*initargs)
        conn.send(("ready", None, None))
    except BaseException as exc:  # reported to the driver once, then this worker exits
        conn.send(("start_error", None, f"{type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        task_id, blob = message
        try:
            fn, args, kwargs = cloudpickle.loads(blob)
            result = ("ok", task_id, cloudpickle.dumps(fn(*args, **kwargs)))
        except BaseException as exc:  # the task's own error goes back through its future
            try:
                result = ("error", task_id, cloudpickle.dumps(exc))
            except Exception:
                result = ("error", task_id, cloudpickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}")))
        conn.send(result)


@dataclass(eq=False)
class _Worker:
    process: Any
    conn: multiprocessing.connection.Connection
    ready: bool = False
    task: _Task | None = None
    deadline: float | None = None


@dataclass(eq=False)
class _Task:
    future: concurrent.futures.Future[Any]
    blob: bytes
    task_id: int = 0


class KillableProcessPool(concurrent.futures.Executor):
    """N spawned workers; a per-task ``timeout`` (seconds) kills the worker running it."""

    def __init__(
        self,
        max_workers: int,
        initializer: Callable[..., Any] | None = None,
        initargs: tuple[Any, ...] = (),
        timeout: float | None = None,
    ) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._init_blob = cloudpickle.dumps((initializer, initargs)) if initializer is not None else None
        self._timeout = timeout
        self._lock = threading.Lock()
        self._queue: collections.deque[_Task] = collections.deque()
        self._workers: list[_Worker] = []
        self._next_id = 0
        self._shutdown = False
        self._abort = False
        self._start_errors: set[str] = set()
        self._wakeup_r, self._wakeup_w = multiprocessing.Pipe(duplex=False)
        for _ in range(max_workers):
            self._workers.append(self._spawn())
        self._thread = threading.Thread(target=self._dispatch, name="inc-process-pool", daemon=True)
        self._thread.start()

    # Executor interface -------------------------------------------------------
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit after shutdown")
            self._next_id += 1
            self._queue.append(_Task(future, cloudpickle.dumps((fn, args, kwargs)), self._next_id))
        self._wake()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the pool; ``wait=False`` kills the workers at once (their tasks end cancelled).

        The dispatch thread is joined before any pipe is closed, so it never waits on a
        closed handle (no "OSError: handle is closed" from a background thread).
        """
        with self._lock:
            self._shutdown = True
            self._abort = self._abort or not wait
            if cancel_futures:
                while self._queue:
                    self._queue.popleft().future.cancel()
        if not wait:
            for worker in self._workers:
                if worker.process.is_alive():
                    worker.process.kill()
        self._wake()
        self._thread.join(timeout=10)
        for worker in self._workers:
            self._stop(worker, kill=not wait)
        self._wakeup_r.close()
        self._wakeup_w.close()

    @property
    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    # Internals ------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker_main, args=(child, self._init_blob), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def _wake(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._wakeup_w.send_bytes(b"x")

    def _stop(self, worker: _Worker, kill: bool) -> None:
        try:
            if not kill and worker.process.is_alive():
                worker.conn.send(None)
                worker.process.join(timeout=2)
        except (OSError, ValueError, BrokenPipeError):
            pass
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(timeout=5)
        worker.conn.close()

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if self._abort:
                    self._cancel_running()
                    return
                if self._shutdown and not any(w.task for w in self._workers) and not self._queue:
                    return
                self._assign()
            waitables: list[Any] = [self._wakeup_r]
            for worker in self._workers:
                waitables += [worker.conn, worker.process.sentinel]
            deadlines = [w.deadline for w in self._workers if w.deadline is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            ready = multiprocessing.connection.wait(waitables, timeout=timeout)
            if self._wakeup_r in ready:
                while self._wakeup_r.poll():
                    self._wakeup_r.recv_bytes()
            with self._lock:
                for index in reversed(range(len(self._workers))):  # _fail_start may remove workers
                    self._service(index, self._workers[index], ready)

    def _cancel_running(self) -> None:
        for worker in self._workers:
            task, worker.task, worker.deadline = worker.task, None, None
            if task is not None and not task.future.done():
                task.future.set_exception(concurrent.futures.CancelledError("the pool was shut down"))

    def _assign(self) -> None:
        if not self._workers:
            self._fail_queued()
            return
        for worker in self._workers:
            if not self._queue:
                return
            if worker.ready and worker.task is None:
                task = self._queue.popleft()
                if not task.future.set_running_or_notify_cancel():
                    continue
                worker.task = task
                worker.deadline = time.monotonic() + self._timeout if self._timeout else None
                with contextlib.suppress(OSError):  # a dead worker is noticed through its sentinel
                    worker.conn.send((task.task_id, task.blob))

    def _service(self, index: int, worker: _Worker, ready: list[Any]) -> None:
        if worker.conn in ready:
            try:
                kind, _, payload = worker.conn.recv()
            except (EOFError, OSError):
                kind, payload = "dead", None
            if kind == "ready":
                worker.ready = True
                return
            if kind == "start_error":
                self._fail_start(index, worker, payload)
                return
            if kind in ("ok", "error") and worker.task is not None:
                task, worker.task, worker.deadline = worker.task, None, None
                value = cloudpickle.loads(payload)
                if kind == "ok":
                    task.future.set_result(value)
                else:
                    task.future.set_exception(value)
                return
        if worker.process.sentinel in ready and not worker.process.is_alive():
            self._replace(
                index,
                worker,
                WorkerLostError(
                    f"worker process {worker.process.pid} died (exit code "
                    f"{worker.process.exitcode}) while running a trial"
                ),
            )
            return
        if worker.deadline is not None and time.monotonic() >= worker.deadline:
            seconds = self._timeout
            worker.process.kill()
            self._replace(
                index,
                worker,
                TaskTimeoutError(
                    f"trial exceeded the per-trial timeout of {seconds:g} s; its worker process was killed"
                ),
            )

    def _replace(self, index: int, worker: _Worker, error: Exception) -> None:
        task = worker.task
        self._stop(worker, kill=True)
        if task is not None and not task.future.done():
            task.future.set_exception(error)
        if not self._shutdown:
            self._workers[index] = self._spawn()

    def _fail_start(self, index: int, worker: _Worker, message: str) -> None:
        if message not in self._start_errors:
            self._start_errors.add(message)
            logger.error("a trial worker could not start: %s", message)
        self._stop(worker, kill=True)
        self._workers.pop(index)
        if not self._workers:
            self._fail_queued()

    def _fail_queued(self) -> None:
        """Nobody can run anything: fail every waiting task with the workers' start error."""
        error = WorkerStartError(f"no trial worker could start: {'; '.join(sorted(self._start_errors))}")
        while self._queue:
            task = self._queue.popleft()
            if task.future.set_running_or_notify_cancel():
                task.future.set_exception(error)
