"""Setting a run up before its first trial: the tuning space and the fp32 baseline.

`build_space` is also what ``inc tune`` calls to report a constraint the model cannot
meet as bad input, so the API and the CLI build spaces the same way.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inc_core.adaptor.base import Adaptor
from inc_core.config.tuning import TuningConfig
from inc_core.errors import BaselineError, HistoryError
from inc_core.evaluate.evaluator import Evaluator
from inc_core.history.store import TrialHistory
from inc_core.space.space import TuningSpace

logger = logging.getLogger("inc")


def build_space(adaptor: Adaptor, model: Any, config: TuningConfig) -> TuningSpace:
    """The adaptor's capability for ``model`` under the user's constraints (`ConfigError` if they cannot hold)."""
    return TuningSpace(
        adaptor.capability(model),
        global_constraint=config.global_constraint,
        op_type_dict=config.op_type_dict,
        op_name_dict=config.op_name_dict,
        recipes=config.recipes,
    )


def check_fingerprint(history: TrialHistory, space: TuningSpace, run_dir: Path) -> None:
    """A history belongs to one space: resuming it on another is `HistoryError`."""
    fingerprint = space.fingerprint()
    stored = history.get_meta("space_fingerprint")
    if stored is not None and stored != fingerprint:
        raise HistoryError(
            f"{run_dir}: the history was recorded on another tuning space "
            "(different model, adaptor or constraints); use a new run_dir"
        )
    history.set_meta("space_fingerprint", fingerprint)


@dataclass(frozen=True)
class Baseline:
    """The fp32 model's metrics, how long one evaluation took, and the score to reach."""

    metrics: dict[str, float]
    seconds: float | None
    score: float
    target: float


def measure_baseline(evaluator: Evaluator, model: Any, history: TrialHistory, resume: bool) -> Baseline:
    """Evaluate the fp32 model once (timed), or replay it from a resumed history with the same metrics."""
    stored = history.get_meta("baseline") if resume else None
    if stored is not None and set(stored["metrics"]) != {m.name for m in evaluator.metrics}:
        logger.warning("resume: the metrics changed since the baseline was recorded; measuring it again")
        stored = None
    if stored is not None:
        metrics, seconds = dict(stored["metrics"]), stored.get("seconds")
    else:
        try:
            started = time.perf_counter()
            metrics = evaluator.evaluate(model)
            seconds = time.perf_counter() - started
        except Exception as exc:
            # The traceback goes to tuning.log (INFO: not on stderr unless -v), the summary to the caller.
            logger.info("evaluating the fp32 baseline failed", exc_info=exc)
            raise BaselineError(f"evaluating the fp32 baseline failed: {type(exc).__name__}: {exc}") from exc
        evaluator.check_baseline(metrics)
        history.set_meta("baseline", {"metrics": metrics, "seconds": seconds})
    evaluator.check_baseline(metrics)
    return Baseline(metrics, seconds, evaluator.score(metrics), evaluator.target(metrics))
