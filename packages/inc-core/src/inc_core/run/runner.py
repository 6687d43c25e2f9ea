"""`TuningRun`: one tuning run from fp32 model to `TuningResult`.

model -> adaptor.capability -> TuningSpace -> strategy.ask -> executor runs trials
(adaptor.quantize -> Evaluator) -> strategy.tell -> TuningMonitor -> history -> hooks.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inc_core.adaptor.base import SENSITIVITY_METHODS, Adaptor, Calibration
from inc_core.config.criterion import score_key
from inc_core.config.objectives import Objectives, pareto_front
from inc_core.config.tuning import TuningConfig
from inc_core.errors import (
    AdaptorError,
    BaselineError,
    ConfigError,
    HistoryError,
    IncError,
    NotSupportedError,
    TrialError,
    WorkerLostError,
    WorkerStartError,
)
from inc_core.evaluate.evaluator import Evaluator
from inc_core.evaluate.goal import Goal
from inc_core.execute.backends import TrialBackend, check_executor, make_backend
from inc_core.history.result import TuningResult
from inc_core.history.store import CANCELLED, TrialHistory
from inc_core.history.trial import Trial, TrialState
from inc_core.measure import timing
from inc_core.measure.cost import CostModel
from inc_core.plugins.manager import IncPluginManager, get_plugin_manager
from inc_core.run.monitor import StopReason, TuningMonitor
from inc_core.run.run_lock import RunDirLock
from inc_core.space.space import TuningSpace
from inc_core.space.tune_config import TuneConfig
from inc_core.strategy.base import Proposal, TuneStrategy

logger = logging.getLogger("inc")
# Each passing trial's paired benchmark, as a share of one fp32 evaluation.
TRIAL_BENCHMARK_SHARE = 0.25
MAX_ATTEMPTS = 3
"""How often a trial is started when the worker running it dies."""
LOST_POLL = 1.0
"""Seconds between checks that an executor that can lose workers still has some."""


@dataclass
class _Running:
    trial: Trial
    started: float  # time.monotonic() at submission
    attempts: int = 1


@dataclass(frozen=True)
class TrialOutcome:
    """What a worker sends back for one config (``model`` only from in-process executors)."""

    metrics: Mapping[str, float] | None
    passed: bool = False
    latency: float | None = None
    model_size: int | None = None
    error: str | None = None
    model: Any = None
    speedup: float | None = None


@dataclass
class TrialJob:
    """Quantize, evaluate and (if it passes) measure one config; never raises."""

    adaptor: Adaptor
    model: Any
    calibration: Calibration
    evaluator: Evaluator
    baseline: Mapping[str, float]
    measure_latency: bool
    keep_model: bool = True
    benchmark_seconds: float | None = None  # cap of one paired benchmark (`inc_core.measure.timing.budget`)
    prebuilt: Mapping[TuneConfig, Any] = field(default_factory=dict)
    """Models the cost model already built (its presets), reused when a trial asks for one."""

    def shipped(self) -> TrialJob:
        """This job as sent to other processes: no models kept or carried."""
        return dataclasses.replace(self, keep_model=False, prebuilt={})

    def __call__(self, config: TuneConfig) -> TrialOutcome:
        try:
            quantized = self.prebuilt.get(config)
            if quantized is None:
                quantized = self.adaptor.quantize(self.model, config, self.calibration)
        except Exception as exc:  # a quantizer failure fails this trial only
            return TrialOutcome(None, error=f"quantization failed: {type(exc).__name__}: {exc}")
        try:
            metrics = self.evaluator.evaluate(quantized)
        except Exception as exc:  # the user's eval function failed on this model
            return TrialOutcome(None, error=f"evaluation failed: {type(exc).__name__}: {exc}")
        passed = self.evaluator.passes(metrics, self.baseline)
        latency = size = speedup = None
        try:
            if passed and self.measure_latency:
                # Paired with fp32 in one interleaved benchmark: the ratio, not the absolute
                # time, says whether this config is faster on a shared machine.
                with timing.budget(self.benchmark_seconds):
                    reference, latency = self.adaptor.benchmark_many([self.model, quantized], self.calibration)
                speedup = reference / latency if latency else None
            size = self.adaptor.model_size(quantized)
        except NotSupportedError:
            pass
        except Exception as exc:
            return TrialOutcome(metrics, passed, error=f"measuring objectives failed: {type(exc).__name__}: {exc}")
        kept = quantized if self.keep_model else None
        return TrialOutcome(metrics, passed, latency, size, model=kept, speedup=speedup)


def resolve_adaptor(model: Any, adaptor: Adaptor | str | None, pm: IncPluginManager) -> Adaptor:
    """The adaptor instance for ``model``: given, named, or the first installed one that accepts it."""
    if isinstance(adaptor, Adaptor):
        return adaptor
    if isinstance(adaptor, str):
        return pm.adaptors.get(adaptor).cls()
    if adaptor is not None:
        raise ConfigError(f"adaptor must be an Adaptor instance or a registered name, got {adaptor!r}")
    for registration in pm.adaptors:
        if registration.cls.accepts(model):
            return registration.cls()
    installed = ", ".join(pm.adaptors.names()) or "none"
    raise ConfigError(
        f"no installed adaptor accepts a model of type {type(model).__name__} ({model!r:.80}); "
        f"installed adaptors: {installed}. Install inc-onnx or inc-torch, or pass adaptor=..."
    )


def _digest(names: Sequence[str]) -> str:
    """A short stable key for a list of op names (a 10,000-op list would bloat the cache key)."""
    import hashlib

    return hashlib.sha1("\n".join(names).encode(), usedforsecurity=False).hexdigest()


def default_run_dir(strategy: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("inc_runs") / f"{strategy}-{stamp}-{time.time_ns() % 10**6:06d}"


class TuningRun:
    """Everything one run needs; `run` executes it. Also the strategies' `StrategyContext`."""

    def __init__(
        self,
        model: Any,
        tuning_config: TuningConfig,
        eval_fn: Any,
        calibration: Calibration | None = None,
        adaptor: Adaptor | str | None = None,
        resume: bool = False,
        plugin_manager: IncPluginManager | None = None,
    ) -> None:
        self.config = tuning_config
        self.pm = plugin_manager or get_plugin_manager()
        self.evaluator = Evaluator(eval_fn, tuning_config.accuracy_criterion)
        self.calibration = calibration or Calibration()
        self.adaptor = resolve_adaptor(model, adaptor, self.pm)
        if isinstance(model, (str, Path)):
            model = self.adaptor.load(model)
        self.model = model
        self.strategy_name = tuning_config.strategy_name
        self.strategy_cls: type[TuneStrategy] = self.pm.strategies.get(self.strategy_name).cls
        self.resume = resume
        if resume and tuning_config.run_dir is None:
            raise ConfigError("resume=True needs TuningConfig.run_dir: the run directory to resume")
        self.run_dir = Path(tuning_config.run_dir) if tuning_config.run_dir else default_run_dir(self.strategy_name)
        self.monitor = TuningMonitor(tuning_config.max_trials, float(tuning_config.timeout))
        self.space: TuningSpace | None = None
        self.history: TrialHistory | None = None
        self.baseline: dict[str, float] = {}
        self.baseline_score = 0.0
        self.baseline_seconds: float | None = None  # one fp32 evaluation, timed
        self.target_score = 0.0
        self.objectives = Objectives(dict(tuning_config.objectives))
        self.goal = Goal(self.objectives, tuning_config.min_gain)
        self.cost_model: CostModel | None = None
        self.trials: list[Trial] = []
        self.strategy: TuneStrategy | None = None
        self.sensitivity_calls = 0
        self.sensitivity_seconds = 0.0
        self._best_model: tuple[TuneConfig, Any] | None = None
        self._log_handler: logging.Handler | None = None
        self._run_lock = RunDirLock(self.run_dir)
        self._checked = False

    # StrategyContext -------------------------------------------------------------
    @property
    def seed(self) -> int:
        return self.config.random_seed

    @property
    def higher_is_better(self) -> bool:
        return self.config.higher_is_better

    @property
    def timeout(self) -> float:
        return float(self.config.timeout)

    @property
    def max_trials(self) -> int:
        return self.config.max_trials

    @property
    def min_gain(self) -> float | None:
        """The gain over fp32 a config needs to meet the goal; None when only accuracy counts."""
        return self.goal.min_gain if self.goal.needs_gain else None

    def elapsed(self) -> float:
        return self.monitor.elapsed()

    def trials_used(self) -> int:
        return self.monitor.trials_count

    def objective_key(self, trial: Trial) -> tuple[float, ...]:
        return (self.objectives.cost(trial), score_key(trial.score, self.higher_is_better))

    def sensitivity(self, method: str, config: TuneConfig, ops: Sequence[str] | None = None) -> Mapping[str, float]:
        """Per-op scores from the adaptor, cached in the history (a resumed run does not recompute)."""
        if method not in SENSITIVITY_METHODS:
            raise ConfigError(f"unknown sensitivity method {method!r}; valid: {', '.join(SENSITIVITY_METHODS)}")
        key = method if ops is None else f"{method}:{_digest(sorted(ops))}"
        assert self.history is not None
        cached = self.history.get_sensitivity(key, config)
        if cached is not None:
            return cached
        start = time.perf_counter()
        scores = self._compute_sensitivity(method, config, ops)
        self.sensitivity_seconds += time.perf_counter() - start
        self.sensitivity_calls += 1
        self.history.put_sensitivity(key, config, scores)
        return scores

    def _compute_sensitivity(self, method: str, config: TuneConfig, ops: Sequence[str] | None) -> dict[str, float]:
        """Core's mse/mse_v2 where the adaptor exposes tensors; the adaptor's own hook otherwise (hawq_v2)."""
        from inc_core.measure import sensitivity

        assert self.space is not None
        if method in sensitivity.METHODS and sensitivity.supports_tensors(self.space):
            compute = sensitivity.METHODS[method]
            try:
                return compute(self.adaptor, self.model, self.calibration, self.space, config, ops)
            except NotSupportedError:
                pass
        return dict(self.adaptor.op_sensitivity(self.model, config, self.calibration, method, ops))

    # The run ---------------------------------------------------------------------
    def check(self) -> None:
        """Everything checkable without evaluating anything, before the run directory exists.

        Strategy options (types and ranges), calibration data against the model's inputs
        (the adaptor's `Adaptor.check_calibration`), the executor (known, installed, the
        job picklable for its workers, a remote scheduler reachable). `ConfigError` on bad input.
        """
        if self._checked:
            return
        self.strategy_cls.validate_options(self._strategy_options())
        try:
            self.adaptor.check_calibration(self.model, self.calibration)
        except IncError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"calibration data cannot feed the model ({type(exc).__name__}: {exc}); "
                "check its arrays' names, shapes and dtypes against the model's inputs"
            ) from None
        check_executor(self.config.executor, self._job(), self.config.dask_security)
        self._checked = True

    def lock_run_dir(self) -> None:
        """Take the run directory's lock (creating it): `RunDirLockedError` if another process tunes in it."""
        self._run_lock.acquire()

    def run(self) -> TuningResult:
        self.check()
        self.lock_run_dir()
        try:
            self._open_run_dir()
            self._build_space()
            self._measure_baseline()  # first: its time sizes the benchmarks of the cost model and trials
            self._prepare_space()
            assert self.space is not None
            if len(self.space) == 0:
                return self._finish(StopReason.EMPTY_SPACE)
            self.strategy = self._make_strategy()
            self.pm.hook.inc_tuning_start(run=self)
            reason = self.strategy.traverse(self)
            return self._finish(reason)
        finally:
            self._close()

    def _open_run_dir(self) -> None:
        history_file = self.run_dir / "history.sqlite"
        if history_file.exists() and not self.resume:
            raise ConfigError(
                f"run directory {self.run_dir} already holds a tuning history; "
                "pass resume=True to continue it or choose another run_dir"
            )
        if self.resume and not history_file.exists():
            raise ConfigError(f"resume: no history to resume in {self.run_dir} (expected {history_file})")
        self._log_handler = logging.FileHandler(self.run_dir / "tuning.log", encoding="utf-8")
        self._log_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("inc").addHandler(self._log_handler)
        if logging.getLogger("inc").level == logging.NOTSET:
            logging.getLogger("inc").setLevel(logging.INFO)
        self.history = TrialHistory.in_run_dir(self.run_dir, create=not self.resume)

    def _close(self) -> None:
        try:
            if self.history is not None:
                self.history.close()
            if self._log_handler is not None:
                logging.getLogger("inc").removeHandler(self._log_handler)
                self._log_handler.close()
            self.adaptor.close()
        finally:
            self._run_lock.release()

    def _build_space(self) -> None:
        assert self.history is not None
        capability = self.adaptor.capability(self.model)
        self.space = TuningSpace(
            capability,
            global_constraint=self.config.global_constraint,
            op_type_dict=self.config.op_type_dict,
            op_name_dict=self.config.op_name_dict,
            recipes=self.config.recipes,
        )
        fingerprint = self.space.fingerprint()
        stored = self.history.get_meta("space_fingerprint")
        if stored is not None and stored != fingerprint:
            raise HistoryError(
                f"{self.run_dir}: the history was recorded on another tuning space "
                "(different model, adaptor or constraints); use a new run_dir"
            )
        self.history.set_meta("space_fingerprint", fingerprint)

    def _prepare_space(self) -> None:
        """Measure what each mode buys here and prune/reorder the default space (cached per run dir)."""
        assert self.space is not None and self.history is not None
        from inc_core.measure.prepare import prepare_space

        prepared = prepare_space(self, self.history.get_meta("prepared_space"))
        self.space, self.cost_model = prepared.space, prepared.cost_model
        self.history.set_meta("prepared_space", prepared.to_dict())
        if self.cost_model is not None:
            self.objectives = self.cost_model.objectives
        self.goal = Goal(self.objectives, self.config.min_gain, measurable=prepared.gain_measurable)
        self.history.set_default_config(self.space.default_config())

    def _measure_baseline(self) -> None:
        assert self.history is not None
        stored = self.history.get_meta("baseline") if self.resume else None
        if stored is not None and set(stored["metrics"]) != {m.name for m in self.evaluator.metrics}:
            logger.warning("resume: the metrics changed since the baseline was recorded; measuring it again")
            stored = None
        if stored is not None:
            self.baseline = dict(stored["metrics"])
            self.baseline_seconds = stored.get("seconds")
        else:
            try:
                started = time.perf_counter()
                self.baseline = self.evaluator.evaluate(self.model)
                self.baseline_seconds = time.perf_counter() - started
            except Exception as exc:
                # The traceback goes to tuning.log (INFO: not on stderr unless -v), the summary to the caller.
                logger.info("evaluating the fp32 baseline failed", exc_info=exc)
                raise BaselineError(f"evaluating the fp32 baseline failed: {type(exc).__name__}: {exc}") from exc
            self.evaluator.check_baseline(self.baseline)
            self.history.set_meta("baseline", {"metrics": self.baseline, "seconds": self.baseline_seconds})
        self.evaluator.check_baseline(self.baseline)
        self.baseline_score = self.evaluator.score(self.baseline)
        self.target_score = self.evaluator.target(self.baseline)

    def _make_strategy(self) -> TuneStrategy:
        assert self.space is not None and self.history is not None
        strategy = self.strategy_cls(self.space, self, **self._strategy_options())
        strategy.show_baseline_info()
        if self.resume:
            interrupted = self.history.mark_interrupted()
            finished = [self.goal.judge(t) for t in self.history.finished_trials()]
            logger.info(
                "resuming: %d finished trials replayed, %d interrupted will be re-run", len(finished), interrupted
            )
            strategy.setup_resume(finished)
            self.monitor.trials_count = len(finished)  # the budget spans the interrupted run too
        return strategy

    def _strategy_options(self) -> dict[str, Any]:
        options = dict(self.config.strategy_kwargs)
        if self.strategy_name == "sequential":
            options.setdefault("config_set", self.config.config_set)
            options.setdefault("sampler", self.config.sampler)
        return options

    def _job(self) -> TrialJob:
        return TrialJob(
            self.adaptor,
            self.model,
            self.calibration,
            self.evaluator,
            self.baseline,
            self.goal.measurable and self.objectives.measures_latency,
            benchmark_seconds=timing.share_of(self.baseline_seconds, TRIAL_BENCHMARK_SHARE),
            prebuilt=self.cost_model.models if self.cost_model is not None else {},
        )

    def drive(self, strategy: TuneStrategy) -> StopReason:
        """The ask/tell loop: keep workers busy, feed results back, stop when the monitor says."""
        assert self.history is not None
        timeout = float(self.config.trial_timeout) if self.config.trial_timeout else None
        backend = make_backend(
            self.config.executor, self.config.workers, self._job(), timeout, self.config.dask_security
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
                reason = self.monitor.stop_reason(goal_met, strategy.finished and not busy)
                if reason is not None and (reason is not StopReason.MAX_TRIALS or not busy):
                    break
                if backend.may_lose_workers and busy:
                    workers_gone_since = self._check_workers(backend, inflight, lost, workers_gone_since)
                    waited = time.monotonic() - workers_gone_since if workers_gone_since is not None else 0.0
                    if workers_gone_since is not None and waited >= float(self.config.worker_wait):
                        logger.error(
                            "all workers lost for %.0f s; stopping (%d unfinished trial(s) stay unrecorded: "
                            "--resume runs them)",
                            waited,
                            len(inflight) + len(lost),
                        )
                        reason = StopReason.WORKERS_LOST
                        break
                free = self.config.workers - len(inflight) - len(lost)
                budget = self.monitor.budget_left() - len(inflight) - len(lost)
                proposals: list[Proposal] = strategy.ask(min(free, budget)) if free > 0 and budget > 0 else []
                for proposal in proposals:
                    trial = Trial(number, proposal.config, proposal.seq, proposal.stage, started_at=time.time())
                    number += 1
                    self.history.record_start(trial)
                    self.pm.hook.inc_trial_start(run=self, trial=trial)
                    self._submit(backend, _Running(trial, time.monotonic()), inflight, lost)
                if not inflight and not lost:
                    if strategy.finished:
                        continue  # the monitor reports EXHAUSTED next round
                    if not proposals:
                        logger.warning(
                            "strategy %s proposed nothing and waits for nothing; stopping", self.strategy_name
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
                    float(self.config.worker_wait),
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
        if self.monitor.timeout > 0:
            limits.append(self.monitor.timeout - self.monitor.elapsed())
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
        assert self.history is not None
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
                score=self.evaluator.score(outcome.metrics),
                passed=outcome.passed and outcome.error is None,
                latency=outcome.latency,
                model_size=outcome.model_size,
                error=outcome.error,
                ended_at=ended,
            )
        finished = self.goal.judge(finished.with_(speedup=outcome.speedup))
        self.monitor.add_trial_result()
        self.history.record_end(finished)
        self.trials.append(finished)
        strategy.tell(finished)
        best = strategy.best_trial
        if outcome.model is not None and best is not None and best.config == finished.config:
            self._best_model = (finished.config, outcome.model)
        self.pm.hook.inc_trial_end(run=self, trial=finished)

    def _cancel(self, inflight: dict[concurrent.futures.Future[TrialOutcome], _Running], lost: list[_Running]) -> None:
        """Trials unfinished at the end are recorded cancelled: not final, so ``--resume`` runs them."""
        assert self.history is not None
        for future in inflight:
            future.cancel()
        for running in [*inflight.values(), *lost]:
            self.history.record_end(running.trial.with_(state=TrialState.FAILED, error=CANCELLED, ended_at=time.time()))

    # Result ------------------------------------------------------------------------
    def _finish(self, reason: StopReason) -> TuningResult:
        assert self.space is not None and self.history is not None
        strategy = self.strategy
        all_trials = self._all_trials()
        if strategy is not None and strategy.best_trial is None:
            # A resumed run whose budget was already spent stops before the strategy replays
            # anything: judge the replayed trials directly, in proposal order.
            for trial in sorted((t for t in all_trials if t.cached), key=lambda t: (t.seq, t.number)):
                strategy.update_best_op_tuning_cfg(trial)
        best = strategy.best_trial if strategy is not None else None
        met_goal = bool(best and best.met)
        best_model: Any = self.model
        if reason is StopReason.EMPTY_SPACE:
            met_goal = not self.goal.needs_gain and self.evaluator.passes(self.baseline, self.baseline)
        elif best is not None:
            best_model = self._model_for(best.config)
        result = TuningResult(
            best_model=best_model,
            best_config=best.config if best else None,
            best_trial=best,
            baseline=dict(self.baseline),
            baseline_score=self.baseline_score,
            target_score=self.target_score,
            met_goal=met_goal,
            stop_reason=reason.value,
            trials=all_trials,
            pareto=pareto_front(all_trials, self.higher_is_better),
            run_dir=self.run_dir,
            baseline_latency=self.objectives.baseline_latency,
            baseline_size=self.objectives.baseline_size,
            reason="" if met_goal else self._not_met_reason(reason, all_trials),
            cost_model=self.cost_model.to_dict() if self.cost_model is not None else None,
        )
        self._save(result, strategy)
        self.history.set_meta("result", result.summary())
        self.pm.hook.inc_tuning_end(run=self, result=result)
        return result

    def _not_met_reason(self, reason: StopReason, trials: list[Trial]) -> str:
        assert self.space is not None
        if reason is StopReason.EMPTY_SPACE:
            return reason.value
        if not any(op.quantized_options for op in self.space.ops) and self.cost_model is not None:
            return f"no quantization mode is faster than fp32 on this machine ({self.cost_model.describe()})"
        if trials and all(t.state is TrialState.FAILED for t in trials):
            return f"every trial failed ({len(trials)}); the first: {trials[0].error}"
        return self.goal.reason_not_met(trials)

    def _all_trials(self) -> list[Trial]:
        """This run's trials plus, on resume, the replayed ones (marked cached), in number order."""
        assert self.history is not None
        if not self.resume:
            return sorted(self.trials, key=lambda t: t.number)
        current = {t.number for t in self.trials}
        replayed = [
            self.goal.judge(t).with_(cached=True) for t in self.history.finished_trials() if t.number not in current
        ]
        return sorted([*replayed, *self.trials], key=lambda t: t.number)

    def _model_for(self, config: TuneConfig) -> Any:
        if self._best_model is not None and self._best_model[0] == config:
            return self._best_model[1]
        try:
            return self.adaptor.quantize(self.model, config, self.calibration)
        except Exception as exc:
            raise AdaptorError(f"re-quantizing the best config failed: {type(exc).__name__}: {exc}") from exc

    def _save(self, result: TuningResult, strategy: TuneStrategy | None) -> None:
        if strategy is not None and result.best_config is not None:
            result.config_path = strategy.deploy_config(self.run_dir / "best_config.yaml")
        try:
            result.model_path = self.adaptor.save(result.best_model, self.run_dir / "best_model")
        except NotSupportedError:
            logger.info("adaptor %s cannot save models; best model returned in memory only", self.adaptor.name)
        except Exception as exc:  # the tuning result is still returned (and its history is on disk)
            logger.warning("saving the best model failed: %s: %s", type(exc).__name__, exc)
