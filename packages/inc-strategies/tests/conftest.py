from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from inc_core import Trial, TrialState, TuneStrategy, TuningConfig, TuningResult, TuningSpace, autotune
from inc_core.testing import ScriptedEvaluator, SyntheticAdaptor, SyntheticModel, synthetic_accuracy

STRATEGIES = ("auto", "basic", "conservative", "mse", "mse_v2", "hawq_v2", "exhaustive", "random", "bayesian", "tpe")


def scripted(
    strategy: str, model: SyntheticModel, scores: list[float], run_dir: Path, baseline: float = 1.0, **kwargs
) -> tuple[TuningResult, ScriptedEvaluator, SyntheticAdaptor]:
    """Tune ``model`` with scripted scores (baseline first, then in call order)."""
    evaluator = ScriptedEvaluator(scores, baseline)
    adaptor = SyntheticAdaptor(noise=0.0)
    kwargs.setdefault("objectives", {"latency": 1.0})
    result = autotune(model, TuningConfig(strategy=strategy, run_dir=run_dir, **kwargs), evaluator, adaptor=adaptor)
    return result, evaluator, adaptor


@pytest.fixture
def tune_scripted():
    return scripted


def fake_context(model: SyntheticModel, timeout: float = 0.0, tolerable_loss: float = 0.01) -> Any:
    """A `StrategyContext` for ``model``: synthetic sensitivities, relative goal, latency objective."""
    adaptor = SyntheticAdaptor(noise=0.0)
    baseline = model.base_accuracy

    class Context:
        seed, baseline_score, higher_is_better, max_trials = 0, baseline, True, 10_000
        min_gain, cost_model = None, None
        target_score = baseline * (1 - tolerable_loss)

        def __init__(self) -> None:
            self.timeout = timeout

        def objective_key(self, trial: Trial) -> tuple[float, ...]:
            return (trial.latency or 0.0, -(trial.score or 0.0))

        def sensitivity(self, method, config, ops=None):
            return adaptor.op_sensitivity(model, config, None, method, ops)

        def elapsed(self) -> float:
            return 0.0

        def trials_used(self) -> int:
            return 0

    return Context()


def drive(
    cls: type[TuneStrategy],
    model: SyntheticModel,
    workers: int,
    rng: random.Random,
    timeout: float = 0.0,
    max_trials: int = 60,
) -> tuple[TuneStrategy, list[Any], TuningSpace]:
    """Run ``cls`` with up to ``workers`` proposals in flight, completing them in a random order.

    Stops like the runner: at the first pass when ``timeout == 0`` (outside atomic stages),
    at ``max_trials`` evaluations, or when the strategy is finished.
    """
    adaptor = SyntheticAdaptor(noise=0.0)  # latency a function of the config: arrival order cannot matter
    space = TuningSpace(adaptor.capability(model))
    context = fake_context(model, timeout)
    strategy = cls(space, context)
    pending: list[Any] = []
    proposals: list[Any] = []
    evaluated = 0
    while True:
        if (
            strategy.best_trial is not None
            and strategy.best_trial.passed
            and timeout == 0
            and not strategy.atomic_stage
        ):
            break
        budget = max_trials - evaluated - len(pending)
        new = strategy.ask(min(workers - len(pending), budget)) if budget > 0 and len(pending) < workers else []
        proposals += [p.config for p in new]
        pending += new
        if not pending:
            break
        proposal = pending.pop(rng.randrange(len(pending)))
        evaluated += 1
        quantized = adaptor.quantize(model, proposal.config, None)
        score = synthetic_accuracy(quantized)
        passed = score >= context.target_score
        strategy.tell(
            Trial(
                evaluated,
                proposal.config,
                proposal.seq,
                state=TrialState.COMPLETE,
                score=score,
                passed=passed,
                latency=adaptor.benchmark(quantized, None) if passed else None,
            )
        )
    strategy.finalize()
    return strategy, proposals, space


@pytest.fixture
def context_for():
    """``context_for(model, timeout=0.0)``: a fake `StrategyContext` for driving a strategy by hand."""
    return fake_context


@pytest.fixture
def driver():
    """``driver(cls, model, workers, rng, timeout=0.0, max_trials=60)``: ask/tell by hand, shuffled arrival."""
    return drive
