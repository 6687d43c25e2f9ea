"""`TuningRun`: one tuning run from fp32 model to `TuningResult`.

model -> adaptor.capability -> TuningSpace (`setup`) -> baseline -> cost model and
pruning (`inc_core.measure.prepare`) -> strategy.ask -> executor runs trials
(adaptor.quantize -> Evaluator, `inc_core.execute`) -> strategy.tell -> TuningMonitor
-> history -> hooks (`loop`) -> result and saved model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inc_core.adaptor.base import Adaptor, Calibration
from inc_core.adaptor.resolve import resolve_adaptor
from inc_core.config.objectives import Objectives, pareto_front
from inc_core.config.tuning import TuningConfig
from inc_core.errors import AdaptorError, ConfigError, IncError, NotSupportedError
from inc_core.evaluate.evaluator import Evaluator
from inc_core.evaluate.goal import Goal
from inc_core.execute.job import TrialJob
from inc_core.execute.kinds import ExecutorKind, check_executor
from inc_core.history.result import TuningResult
from inc_core.history.store import TrialHistory
from inc_core.history.trial import Trial, TrialState
from inc_core.measure import sensitivity, timing
from inc_core.measure.cost import CostModel
from inc_core.measure.prepare import prepare_space
from inc_core.plugins.manager import IncPluginManager, get_plugin_manager
from inc_core.run import run_dir as run_dirs
from inc_core.run.context import RunContext, RunSettings, objective_key
from inc_core.run.loop import TrialLoop
from inc_core.run.monitor import StopReason, TuningMonitor
from inc_core.run.run_lock import RunDirLock
from inc_core.run.setup import build_space, check_fingerprint, measure_baseline
from inc_core.space.space import TuningSpace
from inc_core.space.tune_config import TuneConfig
from inc_core.strategy.base import TuneStrategy
from inc_core.strategy.book import TrialBook

logger = logging.getLogger("inc")
# Each passing trial's paired benchmark, as a share of one fp32 evaluation.
TRIAL_BENCHMARK_SHARE = 0.25


class TuningRun(RunSettings):
    """Everything one run needs; `run` executes it. Hooks read it as a `inc_core.plugins.view.RunView`."""

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
        self.adaptor = resolve_adaptor(model, adaptor, self.pm.adaptors)
        if isinstance(model, (str, Path)):
            model = self.adaptor.load(model)
        self.model = model
        self.strategy_name = tuning_config.strategy_name
        self.strategy_cls: type[TuneStrategy] = self.pm.strategies.get(self.strategy_name).cls
        self.resume = resume
        if resume and tuning_config.run_dir is None:
            raise ConfigError("resume=True needs TuningConfig.run_dir: the run directory to resume")
        self.run_dir = (
            Path(tuning_config.run_dir) if tuning_config.run_dir else run_dirs.default_run_dir(self.strategy_name)
        )
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
        self.book = TrialBook(lambda t: objective_key(self.objectives, t, self.higher_is_better), self.higher_is_better)
        self.trials: list[Trial] = []  # this run's finished trials, in completion order
        self.strategy: TuneStrategy | None = None
        self._best_model: tuple[TuneConfig, Any] | None = None
        self._log_handler: logging.Handler | None = None
        self._run_lock = RunDirLock(self.run_dir)
        self._checked = False

    # RunView (with `RunSettings`) ----------------------------------------------
    @property
    def best_trial(self) -> Trial | None:
        return self.book.best

    @property
    def hook(self) -> Any:
        return self.pm.hook

    # The run ---------------------------------------------------------------------
    def check(self) -> None:
        """Everything checkable without evaluating anything, before the run directory exists.

        Strategy options (types and ranges), calibration data against the model's inputs
        (the adaptor's `Adaptor.check_calibration`), the executor (known, installed, the
        job picklable for its workers, a remote scheduler reachable). `ConfigError` on bad input.
        """
        if self._checked:
            return
        self.strategy_cls.validate_options(self.strategy_cls.run_options(self.config))
        try:
            self.adaptor.check_calibration(self.model, self.calibration)
        except IncError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"calibration data cannot feed the model ({type(exc).__name__}: {exc}); "
                "check its arrays' names, shapes and dtypes against the model's inputs"
            ) from None
        check_executor(self.config.executor, self.job(), self.executor_kinds(), self.config.dask_security)
        self._checked = True

    def lock_run_dir(self) -> None:
        """Take the run directory's lock (creating it): `RunDirLockedError` if another process tunes in it."""
        self._run_lock.acquire()

    def run(self) -> TuningResult:
        self.check()
        self.lock_run_dir()
        try:
            run_dirs.check_run_dir(self.run_dir, self.resume)
            self._log_handler = run_dirs.open_log(self.run_dir)
            history = self.history = TrialHistory.in_run_dir(self.run_dir, create=not self.resume)
            self.space = build_space(self.adaptor, self.model, self.config)
            check_fingerprint(history, self.space, self.run_dir)
            self._measure_baseline(history)  # first: its time sizes the benchmarks of the cost model and trials
            self._prepare_space(history)
            if len(self.space) == 0:
                return self._finish(StopReason.EMPTY_SPACE)
            self.strategy = self._make_strategy(history)
            self.pm.hook.inc_tuning_start(run=self)
            reason = self.drive(self.strategy)
            return self._finish(reason)
        finally:
            self._close()

    def _close(self) -> None:
        try:
            if self.history is not None:
                self.history.close()
            if self._log_handler is not None:
                run_dirs.close_log(self._log_handler)
            self.adaptor.close()
        finally:
            self._run_lock.release()

    def _measure_baseline(self, history: TrialHistory) -> None:
        baseline = measure_baseline(self.evaluator, self.model, history, self.resume)
        self.baseline, self.baseline_seconds = baseline.metrics, baseline.seconds
        self.baseline_score, self.target_score = baseline.score, baseline.target

    def _prepare_space(self, history: TrialHistory) -> None:
        """Measure what each mode buys here and prune/reorder the default space (cached per run dir)."""
        assert self.space is not None
        prepared = prepare_space(
            self.space,
            self.adaptor,
            self.model,
            self.calibration,
            self.config,
            self.baseline_seconds,
            history.get_meta("prepared_space"),
        )
        self.space, self.cost_model = prepared.space, prepared.cost_model
        history.set_meta("prepared_space", prepared.to_dict())
        self.objectives = self.cost_model.objectives
        self.goal = Goal(self.objectives, self.config.min_gain, measurable=prepared.gain_measurable)
        history.set_default_config(self.space.default_config())

    def _make_strategy(self, history: TrialHistory) -> TuneStrategy:
        assert self.space is not None
        context = RunContext(
            self.config,
            self.monitor,
            history,
            self.objectives,
            self.goal,
            self.book,
            self.baseline_score,
            self.target_score,
            self.cost_model,
            self._compute_sensitivity,
        )
        strategy = self.strategy_cls(self.space, context, **self.strategy_cls.run_options(self.config))
        strategy.show_baseline_info()
        if self.resume:
            interrupted = history.mark_interrupted()
            finished = [self.goal.judge(t) for t in history.finished_trials()]
            logger.info(
                "resuming: %d finished trials replayed, %d interrupted will be re-run", len(finished), interrupted
            )
            strategy.setup_resume(finished)
            self.monitor.trials_count = len(finished)  # the budget spans the interrupted run too
        return strategy

    def _compute_sensitivity(self, method: str, config: TuneConfig, ops: Sequence[str] | None) -> dict[str, float]:
        """Core's mse/mse_v2 where the adaptor exposes tensors; the adaptor's own hook otherwise (hawq_v2)."""
        assert self.space is not None
        if method in sensitivity.METHODS and sensitivity.supports_tensors(self.space):
            compute = sensitivity.METHODS[method]
            try:
                return compute(self.adaptor, self.model, self.calibration, self.space, config, ops)
            except NotSupportedError:
                pass
        return dict(self.adaptor.op_sensitivity(self.model, config, self.calibration, method, ops))

    def job(self) -> TrialJob:
        """The trial job workers run: quantize, evaluate, and benchmark passing configs against fp32."""
        return TrialJob(
            self.adaptor,
            self.model,
            self.calibration,
            self.evaluator,
            self.baseline,
            self.goal.measurable and self.objectives.measures_latency,
            benchmark_seconds=timing.share_of(self.baseline_seconds, TRIAL_BENCHMARK_SHARE),
            prebuilt=self.cost_model.models if self.cost_model is not None else {},
            goal=self.goal,
        )

    def executor_kinds(self) -> list[type[ExecutorKind]]:
        return self.pm.executor_kinds()

    def record(self, trial: Trial, strategy: TuneStrategy, model: Any) -> None:
        """A finished trial: listed, told to the strategy, its model kept while it is the best."""
        self.trials.append(trial)
        strategy.tell(trial)
        best = self.book.best
        if model is not None and best is not None and best.config == trial.config:
            self._best_model = (trial.config, model)

    def drive(self, strategy: TuneStrategy) -> StopReason:
        """Run ``strategy`` to its stop reason in this run's loop (also INC's `TuneStrategy.traverse`)."""
        assert self.history is not None
        return TrialLoop(self, self.history).run(strategy)

    # Result ------------------------------------------------------------------------
    def _finish(self, reason: StopReason) -> TuningResult:
        assert self.space is not None and self.history is not None
        all_trials = self._all_trials()
        if self.strategy is not None and self.book.best is None:
            # A resumed run whose budget was already spent stops before the strategy replays
            # anything: judge the replayed trials directly, in proposal order.
            for trial in sorted((t for t in all_trials if t.cached), key=lambda t: (t.seq, t.number)):
                self.book.consider(trial)
        best = self.book.best
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
        self._save(result)
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

    def _save(self, result: TuningResult) -> None:
        if result.best_config is not None:
            result.config_path = result.best_config.save(self.run_dir / run_dirs.BEST_CONFIG_FILE)
        try:
            result.model_path = self.adaptor.save(result.best_model, self.run_dir / run_dirs.BEST_MODEL_STEM)
        except NotSupportedError:
            logger.info("adaptor %s cannot save models; best model returned in memory only", self.adaptor.name)
        except Exception as exc:  # the tuning result is still returned (and its history is on disk)
            logger.warning("saving the best model failed: %s: %s", type(exc).__name__, exc)
