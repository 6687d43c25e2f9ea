"""The ask/tell loop: keep the workers busy, record every result, stop when the monitor says.

Trials whose worker died run again (up to `MAX_ATTEMPTS`); a trial past ``trial_timeout``
fails and the run goes on; trials unfinished at the end are recorded cancelled, so a
resumed run starts them again.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from inc_core.errors import TrialError, WorkerLostError, WorkerStartError
from inc_core.evaluate.evaluator import Evaluator
from inc_core.evaluate.goal import Goal
from inc_core.execute.backends import TrialBackend
from inc_core.execute.job import TrialJob, TrialOutcome
from inc_core.execute.kinds import ExecutorKind, make_backend
from inc_core.history.store import CANCELLED, TrialHistory
from inc_core.history.trial import Trial, TrialState
from inc_core.plugins.view import RunView
from inc_core.run.monitor import StopReason, TuningMonitor
from inc_core.strategy.base import TuneStrategy
from inc_core.strategy.generator import Proposal

logger = logging.getLogger("inc")
MAX_ATTEMPTS = 3
"""How often a trial is started when the worker running it dies."""
LOST_POLL = 1.0
"""Seconds between checks that an executor that can lose workers still has some."""


@dataclass
class _Running:
    trial: Trial
    started: float  # time.monotonic() at submission
    attempts: int = 1


class LoopHost(RunView, Protocol):
    """What the loop needs of its run (`inc_core.run.runner.TuningRun`)."""

    monitor: TuningMonitor
    goal: Goal
    evaluator: Evaluator

    @property
    def hook(self) -> Any:
        """The plugin manager's hook relay."""
        ...

    def job(self) -> TrialJob: ...

    def executor_kinds(self) -> list[type[ExecutorKind]]: ...

    def record(self, trial: Trial, strategy: TuneStrategy, model: Any) -> None:
        """A finished trial: tell the strategy, keep ``model`` if it is the best so far."""
        ...


class TrialLoop:
    """One run's loop over ``history``; `run` drives a strategy to its stop reason."""

    def __init__(self, host: LoopHost, history: TrialHistory) -> None:
        self.host = host
        self.history = history

    def run(self, strategy: TuneStrategy) -> StopReason:
        """Keep workers busy, feed results back, stop when the monitor says; the stop reason."""
        config = self.host.config
        timeout = float(config.trial_timeout) if config.trial_timeout else None
        backend = make_backend(
            config.executor, config.workers, self.host.job(), self.host.executor_kinds(), timeout, config.dask_security
        )
        inflight: dict[concurrent.futures.Future[TrialOutcome], _Running] = {}
        lost: list[_Running] = []  # trials whose worker vanished, waiting for a worker to run them again
        workers_gone_since: float | None = None
        number = self.history.next_number()
        reason: StopReason | None = None
        try:
            while True:
                busy = bool(inflight or lost)
                goal_met = strategy.best_trial is not None and strategy.best_trial.met and not strategy.atomic_stage
                reason = self.host.monitor.stop_reason(goal_met, strategy.finished and not busy)
                if reason is not None and (reason is not StopReason.MAX_TRIALS or not busy):
                    break
                if backend.may_lose_workers and busy:
                    workers_gone_since = self._check_workers(backend, inflight, lost, workers_gone_since)
                    waited = time.monotonic() - workers_gone_since if workers_gone_since is not None else 0.0
                    if workers_gone_since is not None and waited >= float(config.worker_wait):
                        logger.error(
                            "all workers lost for %.0f s; stopping (%d unfinished trial(s) stay unrecorded: "
                            "--resume runs them)",
                            waited,
                            len(inflight) + len(lost),
                        )
                        reason = StopReason.WORKERS_LOST
                        break
                free = config.workers - len(inflight) - len(lost)
                budget = self.host.monitor.budget_left() - len(inflight) - len(lost)
                proposals: list[Proposal] = strategy.ask(min(free, budget)) if free > 0 and budget > 0 else []
                for proposal in proposals:
                    trial = Trial(number, proposal.config, proposal.seq, proposal.stage, started_at=time.time())
                    number += 1
                    self.history.record_start(trial)
                    self.host.hook.inc_trial_start(run=self.host, trial=trial)
                    self._submit(backend, _Running(trial, time.monotonic()), inflight, lost)
                if not inflight and not lost:
                    if strategy.finished:
                        continue  # the monitor reports EXHAUSTED next round
                    if not proposals:
                        logger.warning(
                            "strategy %s proposed nothing and waits for nothing; stopping", self.host.strategy_name
                        )
                        reason = StopReason.EXHAUSTED
                        break
                    continue
                wait_for = self._wait_time(inflight, None if backend.kills_timeouts else timeout)
                if backend.may_lose_workers or lost:
                    wait_for = LOST_POLL if wait_for is None else min(wait_for, LOST_POLL)
                done, _ = concurrent.futures.wait(inflight, timeout=wait_for, return_when="FIRST_COMPLETED")
                for future in done:
                    self._settle(strategy, inflight, lost, future)
                if lost and not backend.may_lose_workers:
                    self._check_workers(backend, inflight, lost, None)  # a pool that replaces its workers
                if timeout and not backend.kills_timeouts:
                    self._abandon_expired(strategy, inflight, timeout)
        except KeyboardInterrupt:
            reason = StopReason.INTERRUPTED
            raise
        finally:
            self._cancel(inflight, lost)
            backend.shutdown()
            strategy.finalize()
        return reason if reason is not None else StopReason.EXHAUSTED

    def _check_workers(
        self,
        backend: TrialBackend,
        inflight: dict[concurrent.futures.Future[TrialOutcome], _Running],
        lost: list[_Running],
        gone_since: float | None,
    ) -> float | None:
        """Resubmit lost trials if a worker is there; return since when none has been (None: some are)."""
        if backend.alive_workers() == 0:
            if gone_since is None:
                logger.warning(
                    "all workers lost; waiting up to %g s (worker_wait) for one to come back",
                    float(self.host.config.worker_wait),
                )
                return time.monotonic()
            return gone_since
        if gone_since is not None:
            # Work queued while no worker existed may wait on data that left with the workers: send it again.
            for future in list(inflight):
                future.cancel()
                lost.append(inflight.pop(future))
            logger.warning("workers are back; running the %d lost trial(s) again", len(lost))
        for running in lost[:]:
            lost.remove(running)
            self._submit(backend, _Running(running.trial, time.monotonic(), running.attempts + 1), inflight, lost)
        return None

    def _submit(
        self,
        backend: TrialBackend,
        running: _Running,
        inflight: dict[concurrent.futures.Future[TrialOutcome], _Running],
        lost: list[_Running],
    ) -> None:
        """Start ``running`` on the backend; with no worker to take it, it waits among the lost trials."""
        try:
            inflight[backend.submit(running.trial.config)] = running
        except WorkerLostError as exc:
            logger.warning("trial %d: %s; it waits for a worker", running.trial.number, exc)
            lost.append(running)

    def _wait_time(self, inflight: Mapping[Any, _Running], trial_timeout: float | None) -> float | None:
        """Seconds until the run's timeout or the earliest trial deadline, whichever comes first."""
        limits = []
        if self.host.monitor.timeout > 0:
            limits.append(self.host.monitor.timeout - self.host.monitor.elapsed())
        if trial_timeout:
            now = time.monotonic()
            limits += [r.started + trial_timeout - now for r in inflight.values()]
        return max(0.0, min(limits)) if limits else None

    def _settle(
        self,
        strategy: TuneStrategy,
        inflight: dict[concurrent.futures.Future[TrialOutcome], _Running],
        lost: list[_Running],
        future: concurrent.futures.Future[TrialOutcome],
    ) -> None:
        """Record a finished future, or put its trial aside to run again when its worker was lost.

        A trial is lost (not failed) when its worker process died (`WorkerLostError`, up to
        `MAX_ATTEMPTS` runs: a trial that kills every worker it runs on fails) or when the
        engine cancelled it unasked (Dask cancels work whose workers or scheduler vanished).
        """
        running = inflight.pop(future)
        cancelled = future.cancelled()
        error = None if cancelled else future.exception()
        if isinstance(error, WorkerStartError):
            raise error  # a setup problem, reported once: no trial can run
        dead_worker = isinstance(error, WorkerLostError) and running.attempts < MAX_ATTEMPTS
        if dead_worker or cancelled or isinstance(error, concurrent.futures.CancelledError):
            logger.warning("trial %d: its worker was lost (%s); it will run again", running.trial.number, error)
            lost.append(running)
            return
        self._complete(strategy, running.trial, future)

    def _abandon_expired(
        self, strategy: TuneStrategy, inflight: dict[concurrent.futures.Future[TrialOutcome], _Running], timeout: float
    ) -> None:
        now = time.monotonic()
        for future, running in list(inflight.items()):
            if now - running.started >= timeout:
                del inflight[future]
                future.cancel()
                failed: concurrent.futures.Future[TrialOutcome] = concurrent.futures.Future()
                failed.set_result(TrialOutcome(None, error=f"trial exceeded the per-trial timeout of {timeout:g} s"))
                self._complete(strategy, running.trial, failed)

    def _complete(self, strategy: TuneStrategy, trial: Trial, future: concurrent.futures.Future[TrialOutcome]) -> None:
        try:
            outcome = future.result()
        except TrialError as exc:  # e.g. killed at the per-trial timeout
            outcome = TrialOutcome(None, error=str(exc))
        except Exception as exc:  # the executor itself failed (worker died, unpicklable job, ...)
            outcome = TrialOutcome(None, error=f"executor failed: {type(exc).__name__}: {exc}")
        ended = time.time()
        if outcome.metrics is None or (outcome.error is not None and not outcome.metrics):
            finished = trial.with_(state=TrialState.FAILED, error=outcome.error, ended_at=ended)
        else:
            finished = trial.with_(
                state=TrialState.FAILED if outcome.error else TrialState.COMPLETE,
                metrics=dict(outcome.metrics),
                score=self.host.evaluator.score(outcome.metrics),
                passed=outcome.passed and outcome.error is None,
                latency=outcome.latency,
                model_size=outcome.model_size,
                error=outcome.error,
                ended_at=ended,
            )
        finished = self.host.goal.judge(finished.with_(speedup=outcome.speedup, speedup_error=outcome.speedup_error))
        self.host.monitor.add_trial_result()
        self.history.record_end(finished)
        self.host.record(finished, strategy, outcome.model)
        self.host.hook.inc_trial_end(run=self.host, trial=finished)

    def _cancel(self, inflight: dict[concurrent.futures.Future[TrialOutcome], _Running], lost: list[_Running]) -> None:
        """Trials unfinished at the end are recorded cancelled: not final, so ``--resume`` runs them."""
        for future in inflight:
            future.cancel()
        for running in [*inflight.values(), *lost]:
            self.history.record_end(running.trial.with_(state=TrialState.FAILED, error=CANCELLED, ended_at=time.time()))
