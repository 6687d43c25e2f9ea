"""`TuningLogger`: the run's log lines under the ``inc`` logger, also a lifecycle plugin."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from inc_core.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from inc_core.history.result import TuningResult
    from inc_core.history.trial import Trial
    from inc_core.plugins.view import RunView

logger = logging.getLogger("inc")


class TuningLogger:
    """Log messages of a tuning run (INC's names), usable directly or as a plugin."""

    @staticmethod
    def tuning_start() -> None:
        logger.info("Tuning started.")

    @staticmethod
    def trial_start(trial_index: int | None = None) -> None:
        logger.info("Trial %s started.", trial_index if trial_index is not None else "")

    @staticmethod
    def quantization_start(stacklevel: int = 2) -> None:
        logger.info("Quantization started.", stacklevel=stacklevel)

    @staticmethod
    def quantization_end(stacklevel: int = 2) -> None:
        logger.info("Quantization ended.", stacklevel=stacklevel)

    @staticmethod
    def evaluation_start() -> None:
        logger.debug("Evaluation started.")

    @staticmethod
    def evaluation_end() -> None:
        logger.debug("Evaluation ended.")

    @staticmethod
    def trial_end(trial_index: int | None = None) -> None:
        logger.info("Trial %s ended.", trial_index if trial_index is not None else "")

    @staticmethod
    def tuning_end() -> None:
        logger.info("Tuning completed.")

    # Plugin side: the same messages driven by lifecycle hooks -----------------
    @hookimpl
    def inc_tuning_start(self, run: RunView) -> None:
        logger.info(
            "Tuning started: %d ops, strategy %s, baseline %.6g, target %.6g",
            len(run.space or ()),
            run.strategy_name,
            run.baseline_score,
            run.target_score,
        )

    @hookimpl
    def inc_trial_end(self, run: RunView, trial: Trial) -> None:
        if trial.failed:
            logger.warning("Trial %d [%s] failed: %s", trial.number, trial.stage, trial.error)
            return
        logger.info(
            "Trial %d [%s] score %.6g (%s) %s%s",
            trial.number,
            trial.stage,
            trial.score,
            "pass" if trial.passed else "fail",
            trial.config.summary(),
            f" latency {trial.latency * 1e3:.3f} ms" if trial.latency is not None else "",
        )

    @hookimpl
    def inc_tuning_end(self, run: RunView, result: TuningResult) -> None:
        logger.info(
            "Tuning ended after %d trials: %s; goal %s",
            len(result.trials),
            result.stop_reason,
            "met" if result.met_goal else "NOT met",
        )
