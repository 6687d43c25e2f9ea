"""tpe: Optuna's Tree-structured Parzen Estimator over per-op choices.

Plan: one categorical parameter per op with more than one option (up to
``max_params``; beyond, same-type ops are grouped into contiguous chunks) and per
recipe with more than one value (e.g. calibration sampling size); Optuna's seeded
``TPESampler`` (10 random start-up trials, then TPE) proposes through the ask/tell
interface. The loss it minimises mixes accuracy and latency: within the tolerance the
loss is the latency relative to fp32 (faster is lower); beyond it, a large penalty
plus the accuracy loss. Among passing trials the fastest wins, then the one that
loses least accuracy (core's objective ranking). ``batch_size`` > 1 asks Optuna for
several configs at once (with the constant-liar heuristic) so parallel workers stay busy.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any, ClassVar

from inc_core import Batch, Trial, TuneConfig, TuneStrategy
from inc_strategies import stages

PENALTY = 1000.0


class TpeTuneStrategy(TuneStrategy):
    """INC's tpe strategy, on Optuna's TPESampler."""

    name = "tpe"
    default_options: ClassVar[dict[str, Any]] = {"n_startup_trials": 10, "batch_size": 1, "max_params": 64}
    """``max_params``: at most this many parameters; more ops are grouped (see `stages.parameter_groups`)."""

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        logging.getLogger("optuna").setLevel(logging.WARNING)
        sampler = optuna.samplers.TPESampler(
            seed=self.context.seed,
            n_startup_trials=self.options["n_startup_trials"],
            constant_liar=self.options["batch_size"] > 1,
        )
        study = optuna.create_study(direction="minimize", sampler=sampler)
        dims: list[tuple[list[str], Any]] = list(stages.parameter_groups(self.space, self.options["max_params"]))
        dims += [([f"recipe:{name}"], values) for name, values in self.space.recipes.items() if len(values) > 1]
        if not dims:
            self.stage = "default config (nothing to choose)"
            yield self.initial_tuning_cfg()
            return
        self.stage = "tpe"
        seen: dict[TuneConfig, float] = {}
        batch = max(1, self.options["batch_size"])
        while len(seen) < self.space.size():
            asked = [study.ask() for _ in range(batch)]
            configs = [self._config(t, dims) for t in asked]
            fresh = [c for c in dict.fromkeys(configs) if c not in seen]
            trials = (yield Batch(fresh)) if fresh else []
            losses = {t.config: self._loss(t) for t in trials}
            seen.update(losses)
            for optuna_trial, config in zip(asked, configs, strict=True):
                study.tell(optuna_trial, seen[config])

    def _config(self, trial: Any, dims: list[tuple[list[str], Any]]) -> TuneConfig:
        indices = [trial.suggest_categorical(names[0], list(range(len(choices)))) for names, choices in dims]
        return stages.decode_choices(indices, dims, self.initial_tuning_cfg())

    def _loss(self, trial: Trial) -> float:
        """Relative latency when the trial passes; a penalty plus the accuracy loss otherwise."""
        baseline = self.context.baseline_score
        if trial.score is None:
            return PENALTY * 2
        accuracy_loss = (baseline - trial.score) if self.context.higher_is_better else (trial.score - baseline)
        if baseline:
            accuracy_loss /= abs(baseline)
        if not trial.passed:
            return PENALTY + accuracy_loss
        key = self.context.objective_key(trial)
        return float(key[0]) + 1e-3 * accuracy_loss
