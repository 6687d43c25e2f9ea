"""tpe: Optuna's Tree-structured Parzen Estimator over per-op choices.

Plan:
1. search space: one categorical parameter per op with more than one option (at most
   ``max_params``; wider models group same-type ops into contiguous chunks) and per
   recipe with more than one value (e.g. calibration sampling size).
2. an in-memory Optuna study with a seeded ``TPESampler`` (the default config first,
   then ``n_startup_trials`` random trials, then TPE; constant liar for pending
   trials), driven through ask/tell.
3. rounds of ``batch_size`` asks (independent of the number of workers, so a parallel
   run proposes exactly what a sequential one does; asked lazily, so a round that ends
   at a pass asks no further); configs already evaluated are told their known loss
   without being evaluated again.
4. loss: within the tolerance, the trial's objective cost (latency relative to fp32:
   faster is lower); beyond it, a large penalty plus the relative accuracy loss.
   Among passing trials the fastest wins, then the one that loses least accuracy
   (core's objective ranking).

Optuna is imported when the strategy starts, and its logging is silenced.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from typing import Any, ClassVar

import numpy as np

from inc_core import Batch, Trial, TuneConfig, TuneStrategy
from inc_core.strategy import NonNegativeInt, PositiveInt, option_model
from inc_strategies import search_space

PENALTY = 1000.0
STALE_ROUNDS = 3


def _optuna() -> Any:
    """Optuna, imported on first use, with its logging silenced."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    return optuna


class TpeTuneStrategy(TuneStrategy):
    """INC's tpe strategy, on Optuna's TPESampler."""

    name = "tpe"
    default_options: ClassVar[dict[str, Any]] = {"n_startup_trials": 10, "batch_size": 4, "max_params": 64}
    options_model = option_model(
        default_options, n_startup_trials=NonNegativeInt, batch_size=PositiveInt, max_params=PositiveInt
    )
    """``max_params``: at most this many parameters; more ops are grouped (see `search_space.dimensions`);
    ``batch_size``: configs asked per round."""

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        # 1. search space
        dims = search_space.dimensions(self.space, self.options["max_params"])
        if not dims:
            self.stage = "default config (nothing to choose)"
            yield self.initial_tuning_cfg()
            return
        # 2. the study
        study = self._study()
        self.stage = "tpe"
        base = self.initial_tuning_cfg()
        seen: dict[TuneConfig, float] = {}
        size = self.space.size()
        rng = np.random.default_rng(self.context.seed)
        stale = 0  # rounds in a row that proposed only known configs
        study.enqueue_trial({names[0]: 0 for names, _ in dims})  # the default config first (index 0 each)
        while len(seen) < size:
            if stale >= STALE_ROUNDS:  # TPE keeps proposing known configs: inject an unseen one
                unseen = search_space.random_unseen(rng, dims, seen, base)
                if unseen is None:
                    return
                study.enqueue_trial({names[0]: index for index, (names, _) in zip(unseen, dims, strict=True)})
            # 3. one round of asks (lazy: a round that ends at a pass asks no further)
            asked: list[tuple[Any, TuneConfig]] = []
            trials: list[Trial] = yield Batch(self._round(study, dims, base, seen, asked))
            stale = 0 if trials else stale + 1
            # 4. losses told in proposal order
            seen.update((t.config, self._loss(t)) for t in trials)
            for optuna_trial, config in asked:
                if config in seen:
                    study.tell(optuna_trial, seen[config])
                else:  # proposed but not evaluated (the round ended early)
                    study.tell(optuna_trial, state=_optuna().trial.TrialState.FAIL)

    def _round(
        self,
        study: Any,
        dims: list[search_space.Dimension],
        base: TuneConfig,
        seen: dict[TuneConfig, float],
        asked: list[tuple[Any, TuneConfig]],
    ) -> Iterator[TuneConfig]:
        """``batch_size`` asks, yielding each config not seen before; ``asked`` records every one."""
        for _ in range(max(1, self.options["batch_size"])):
            optuna_trial = study.ask()
            config = self._config(optuna_trial, dims, base)
            fresh = config not in seen and all(config != known for _, known in asked)
            asked.append((optuna_trial, config))
            if fresh:
                yield config

    def _study(self) -> Any:
        optuna = _optuna()
        sampler = optuna.samplers.TPESampler(
            seed=self.context.seed, n_startup_trials=self.options["n_startup_trials"], constant_liar=True
        )
        return optuna.create_study(direction="minimize", sampler=sampler)

    def _config(self, trial: Any, dims: list[search_space.Dimension], base: TuneConfig) -> TuneConfig:
        indices = [trial.suggest_categorical(names[0], list(range(len(choices)))) for names, choices in dims]
        return search_space.decode_choices(indices, dims, base)

    def _loss(self, trial: Trial) -> float:
        """Relative latency when the trial passes; a penalty plus the accuracy loss otherwise."""
        baseline = self.context.baseline_score
        if trial.score is None:
            return PENALTY * 2
        accuracy_loss = self.shortfall(trial.score, baseline)
        if baseline:
            accuracy_loss /= abs(baseline)
        if not trial.passed:
            return PENALTY + accuracy_loss
        key = self.context.objective_key(trial)
        return float(key[0]) + 1e-3 * accuracy_loss
