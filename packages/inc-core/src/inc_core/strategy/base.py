"""`TuneStrategy`: the ask/tell base every strategy builds on.

A strategy only proposes; the run owns the loop, the executor, the history and the
book of trials with the best one (`inc_core.strategy.book.TrialBook`, read here as
``best_trial``/``trials``).

Two ways to write one:

* **Generator style** (INC's): override `next_tune_cfg` as a generator. ``yield cfg``
  proposes one config and resumes once its result is known (``self.last_trial``,
  ``self.last_tune_result``; the yield expression also returns the `Trial`).
  ``yield Batch([...])`` proposes configs that may run in parallel and resumes with
  the list of their trials (`inc_core.strategy.generator`).
* **Batch style**: override `ask`/`tell` directly.
"""

from __future__ import annotations

import logging
import math
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from inc_core.config.criterion import better_score, score_key, shortfall
from inc_core.history.trial import Trial, TrialState
from inc_core.space.space import TuningSpace
from inc_core.space.tune_config import TuneConfig
from inc_core.strategy.book import TrialBook
from inc_core.strategy.context import StrategyContext
from inc_core.strategy.generator import GeneratorAdapter
from inc_core.strategy.options import merge_options, validate_options

if TYPE_CHECKING:
    from inc_core.config.tuning import TuningConfig

logger = logging.getLogger("inc.strategy")


class TuneStrategy(GeneratorAdapter):
    """Base class of strategies; see the module docstring for the two styles.

    Subclasses set ``name`` (their registered name) and may declare
    ``default_options`` (option name -> default value; the default's type is the
    expected type). Unknown options or wrong types raise `ConfigError` naming
    the strategy and the option. ``options_model`` (a pydantic model, usually
    ``option_model(default_options, batch_size=PositiveInt)``) adds ranges and
    allowed values; the runner checks it before anything is evaluated, so
    ``batch_size: 0`` or ``fallback_dtype: bogus`` is bad input.
    """

    name: ClassVar[str] = ""
    default_options: ClassVar[Mapping[str, Any]] = {}
    options_model: ClassVar[type[BaseModel] | None] = None

    def __init__(self, space: TuningSpace, context: StrategyContext, **options: Any) -> None:
        super().__init__()
        self.space = space
        self.context = context
        self.options = self.validate_options(options)
        self.stage = ""
        self.atomic_stage = False
        """While True, a passing trial does not end a ``timeout=0`` run: the stage runs to its end."""
        # The run's book; a context without one (a strategy driven by hand) gets a private book.
        book = getattr(context, "book", None)
        self.book: TrialBook = book if book is not None else TrialBook(context.objective_key, context.higher_is_better)
        self.last_trial: Trial | None = None
        self.last_tune_result: tuple[float, list[float]] | None = None
        self.best_tune_result: tuple[float, list[float]] | None = None
        self.cur_best_acc = self.initial_best_acc()
        self.finished = False

    @property
    def trials(self) -> list[Trial]:
        """Results this strategy has consumed, in proposal order."""
        return self.book.trials

    @property
    def best_trial(self) -> Trial | None:
        """The best result so far (the run's, by `TrialBook.better`)."""
        return self.book.best

    # Options -----------------------------------------------------------------
    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """``options`` merged over the defaults, or `ConfigError` naming the strategy, option and rule."""
        return validate_options(cls.name or cls.__name__, cls.default_options, cls.options_model, options)

    @classmethod
    def _validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """Names and types only (no ``options_model`` ranges): the run-file check before anything is built."""
        return merge_options(cls.name or cls.__name__, cls.default_options, options)

    @classmethod
    def run_options(cls, config: TuningConfig) -> dict[str, Any]:
        """The options this strategy is built with for ``config``: its ``strategy_kwargs``.

        A strategy that reads other `TuningConfig` fields overrides this (``sequential``
        takes ``config_set`` and ``sampler``); the runner calls it for every strategy.
        """
        return dict(config.strategy_kwargs)

    # Seed-style helpers ------------------------------------------------------
    def initial_best_acc(self) -> float:
        """The worst possible score, so any real result improves on it."""
        return -math.inf if self.context.higher_is_better else math.inf

    def initial_tuning_cfg(self) -> TuneConfig:
        """The first config every strategy starts from: every op at its default option."""
        return self.space.default_config()

    def meet_acc_req(self, trial: Trial | None = None) -> bool:
        """Whether ``trial`` (default: the last one) passed the accuracy criterion (INC's name).

        Whether it also meets the goal (a real gain over fp32) is ``trial.met``.
        """
        trial = trial if trial is not None else self.last_trial
        return bool(trial is not None and trial.passed)

    def evaluation_result(self, trial: Trial) -> tuple[float, list[float]]:
        """INC's ``[accuracy, [objective values]]`` view of a trial."""
        objectives = [v for v in (trial.latency, trial.model_size) if v is not None]
        score = trial.score if trial.score is not None else self.initial_best_acc()
        return score, [float(v) for v in objectives]

    def show_baseline_info(self) -> None:
        logger.info("baseline score %.6g; strategy %s", self.context.baseline_score, self.name)

    def better_score(self, a: float | None, b: float | None) -> bool:
        """Whether score ``a`` is strictly better than ``b`` (None is worst)."""
        return better_score(a, b, self.context.higher_is_better)

    def score_key(self, score: float | None) -> float:
        """Sort key of a score under the criterion's direction: lower = better, None worst."""
        return score_key(score, self.context.higher_is_better)

    def shortfall(self, score: float, reference: float) -> float:
        """How far ``score`` is behind ``reference`` (e.g. the baseline or target); negative = ahead."""
        return shortfall(score, reference, self.context.higher_is_better)

    def update_best_op_tuning_cfg(self, trial: Trial) -> TuneConfig | None:
        """Fold ``trial`` into the best result (INC's name; the book decides); return the best config."""
        best = self.book.consider(trial)
        if best is trial:
            self.best_tune_result = self.evaluation_result(trial)
        if trial.state is TrialState.COMPLETE and self.better_score(trial.score, self.cur_best_acc):
            self.cur_best_acc = trial.score if trial.score is not None else self.cur_best_acc
        return best.config if best else None

    def deploy_config(self, path: str | Path) -> Path | None:
        """Write the best config found so far as YAML (e.g. ``best_config.yaml``)."""
        if self.best_trial is None:
            return None
        return self.best_trial.config.save(path)

    def setup_resume(self, trials: Iterable[Trial]) -> None:
        """Preload finished trials (from a resumed history) so they are answered, not re-run."""
        for trial in trials:
            if trial.state is not TrialState.RUNNING:
                self._known.setdefault(trial.config, trial)

    def stop(self) -> bool:
        """Whether this strategy has nothing more to propose."""
        return self.finished

    def traverse(self, runner: Any) -> Any:
        """INC's entry point: run this strategy to the end with ``runner`` (anything with ``drive``)."""
        return runner.drive(self)

    def plan(self) -> list[str]:
        """The stages this strategy runs, one line each: its module docstring's ``Plan:`` section."""
        return plan_lines(sys.modules[type(self).__module__].__doc__)

    def _consume(self, trial: Trial) -> None:
        self.book.trials.append(trial)
        self.last_trial = trial
        self.last_tune_result = self.evaluation_result(trial)
        self.update_best_op_tuning_cfg(trial)


def plan_lines(doc: str | None) -> list[str]:
    """The numbered stages of a docstring's ``Plan:`` section, one line each.

    A stage may span several docstring lines; the plan ends at the first blank line after it.
    """
    text = (doc or "").partition("Plan:")[2]
    lines: list[str] = []
    for raw in text.strip("\n").splitlines():
        line = raw.strip()
        if not line:
            if lines:
                break
            continue
        if re.match(r"^\d+\.\s", line) or not lines:
            lines.append(line)
        else:
            lines[-1] += " " + line
    return lines
