"""The public entry points: `autotune` and `init_tuning` (INC's names and meaning)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inc_core.adaptor.base import Adaptor, Calibration
from inc_core.config.loader import ConfigLoader
from inc_core.config.tuning import TuningConfig
from inc_core.evaluate.bound import BoundEval
from inc_core.evaluate.evaluator import EvalSpec
from inc_core.history.result import TuningResult
from inc_core.plugins.logger import TuningLogger
from inc_core.plugins.manager import IncPluginManager
from inc_core.run.monitor import TuningMonitor
from inc_core.run.runner import TuningRun


def autotune(
    model: Any,
    tune_config: TuningConfig | None = None,
    eval_fn: EvalSpec | None = None,
    calib_data: Any = None,
    run_fn: Callable[[Any], Any] | None = None,
    adaptor: Adaptor | str | None = None,
    *,
    eval_args: tuple[Any, ...] | None = None,
    q_func: Callable[[Any], Any] | None = None,
    loss_fn: Callable[..., Any] | None = None,
    resume: bool = False,
    plugin_manager: IncPluginManager | None = None,
) -> TuningResult:
    """Tune ``model`` until a config meets the accuracy goal; return the result (never None).

    ``model``: a framework model object or a model file path. ``eval_fn``: the
    user's score function in one of the `Evaluator` forms. ``calib_data``/``run_fn``:
    calibration data, or a function that feeds a prepared model. ``adaptor``: an
    instance or registered name (default: the first installed adaptor that accepts
    the model). ``resume=True`` continues the history in ``tune_config.run_dir``.
    """
    if eval_fn is None:
        raise TypeError("autotune() needs eval_fn: a function that scores a model")
    if eval_args:
        bound = eval_fn
        if not callable(bound):
            raise TypeError("eval_args can only be used with a callable eval_fn")
        eval_fn = BoundEval(bound, tuple(eval_args))
    calibration = Calibration(data=calib_data, run_fn=run_fn, train_fn=q_func, loss_fn=loss_fn)
    run = TuningRun(
        model,
        tune_config or TuningConfig(),
        eval_fn,
        calibration=calibration,
        adaptor=adaptor,
        resume=resume,
        plugin_manager=plugin_manager,
    )
    return run.run()


def init_tuning(tuning_config: TuningConfig) -> tuple[ConfigLoader | None, TuningLogger, TuningMonitor]:
    """INC 3.x's helper: the config loader (when a config set is given), logger and monitor."""
    loader = (
        ConfigLoader(tuning_config.config_set, tuning_config.sampler) if tuning_config.config_set is not None else None
    )
    monitor = TuningMonitor(tuning_config.max_trials, float(tuning_config.timeout))
    return loader, TuningLogger(), monitor
