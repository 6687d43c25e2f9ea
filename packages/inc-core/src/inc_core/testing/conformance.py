"""Conformance checks every strategy (ours or a third party's) should pass.

Run them all with `check_strategy("name")`, or subclass `StrategyConformance` in a
pytest module and set ``strategy = "name"`` to get one test per check. Each check
runs real tuning runs on the synthetic adaptor, so they exercise the same loop,
history and executor code users do.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inc_core.adaptor.synthetic import SyntheticAdaptor, SyntheticModel, synthetic_accuracy
from inc_core.api import autotune
from inc_core.config.tuning import TuningConfig
from inc_core.history.result import TuningResult
from inc_core.history.trial import TrialState
from inc_core.plugins.manager import get_plugin_manager
from inc_core.space.space import TuningSpace

CHECKS = (
    "check_proposals_in_space_and_distinct",
    "check_reaches_reachable_goal",
    "check_unreachable_goal_returns_best_so_far",
    "check_failing_trials_do_not_stop_the_run",
    "check_budget_respected",
    "check_parallel_matches_sequential",
    "check_resume_reevaluates_nothing",
)


def _run(
    strategy: str, run_dir: Path, model: SyntheticModel, eval_fn: Callable[[Any], Any], **config: Any
) -> TuningResult:
    config.setdefault("max_trials", 30)
    tuning = TuningConfig(strategy=strategy, run_dir=run_dir, **config)
    return autotune(model, tuning, eval_fn, adaptor=SyntheticAdaptor(seed=model.seed))


class _Jitter:
    """Synthetic accuracy after a random sleep, so parallel results arrive out of order."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, model: SyntheticModel) -> float:
        with self._lock:
            delay = self._rng.uniform(0, 0.004)
        time.sleep(delay)
        return synthetic_accuracy(model)


def check_proposals_in_space_and_distinct(strategy: str, workdir: Path) -> None:
    model = SyntheticModel(12, "many_mild", seed=3)
    result = _run(strategy, workdir / "space", model, synthetic_accuracy, timeout=1e6, max_trials=25)
    space = TuningSpace(SyntheticAdaptor().capability(model))
    configs = [t.config for t in result.trials]
    assert configs, f"{strategy}: proposed nothing"
    assert len(set(configs)) == len(configs), f"{strategy}: evaluated the same config twice"
    for config in configs:
        assert space.contains(config), f"{strategy}: proposed a config outside the space: {config.summary()}"


def check_reaches_reachable_goal(strategy: str, workdir: Path) -> None:
    model = SyntheticModel(10, "flat", seed=1)
    result = _run(strategy, workdir / "goal", model, synthetic_accuracy, max_trials=40)
    assert result.met_goal, f"{strategy}: did not reach a goal that every int8 config meets ({result.stop_reason})"
    assert result.best_trial is not None and result.best_trial.passed
    assert result.best_model is not None and result.best_model.config == result.best_config


def check_unreachable_goal_returns_best_so_far(strategy: str, workdir: Path) -> None:
    model = SyntheticModel(8, "few_sensitive", seed=2)
    result = _run(strategy, workdir / "never", model, lambda m: 0.0 if m.config else 1.0, max_trials=12)
    assert not result.met_goal
    assert result.best_config is not None and result.best_trial is not None, f"{strategy}: no best-so-far"
    assert 1 <= len(result.trials) <= 12


def check_failing_trials_do_not_stop_the_run(strategy: str, workdir: Path) -> None:
    model = SyntheticModel(8, "flat", seed=4)
    calls = {"n": 0}

    def flaky(m: SyntheticModel) -> float:
        calls["n"] += 1
        if m.config is not None and calls["n"] % 2 == 0:
            raise RuntimeError("flaky eval")
        return synthetic_accuracy(m)

    result = _run(strategy, workdir / "flaky", model, flaky, max_trials=12)
    failed = [t for t in result.trials if t.state is TrialState.FAILED]
    assert failed and all("flaky eval" in (t.error or "") for t in failed)
    assert len(result.trials) > len(failed) or len(result.trials) == 12


def check_budget_respected(strategy: str, workdir: Path) -> None:
    model = SyntheticModel(10, "many_mild", seed=5)
    result = _run(strategy, workdir / "budget", model, synthetic_accuracy, max_trials=3, timeout=1e6)
    assert len(result.evaluated_trials) <= 3


def check_parallel_matches_sequential(strategy: str, workdir: Path) -> None:
    model = SyntheticModel(10, "few_sensitive", seed=6, n_sensitive=2)
    sequential = _run(strategy, workdir / "seq", model, synthetic_accuracy, max_trials=40)
    for seed in (0, 1):
        parallel = _run(
            strategy, workdir / f"par{seed}", model, _Jitter(seed), max_trials=40, executor="threads", workers=4
        )
        assert parallel.best_config == sequential.best_config, (
            f"{strategy}: with 4 workers and shuffled arrival the chosen config differs from the sequential run"
        )
        assert parallel.met_goal == sequential.met_goal


def check_resume_reevaluates_nothing(strategy: str, workdir: Path) -> None:
    model = SyntheticModel(10, "few_sensitive", seed=7, n_sensitive=2)
    full = _run(strategy, workdir / "full", model, synthetic_accuracy, max_trials=40)
    partial_dir = workdir / "partial"
    half = max(1, len(full.trials) // 2)
    _run(strategy, partial_dir, model, synthetic_accuracy, max_trials=half)
    evaluated: list[Any] = []

    def recording(m: SyntheticModel) -> float:
        evaluated.append(m.config)
        return synthetic_accuracy(m)

    tuning = TuningConfig(strategy=strategy, run_dir=partial_dir, max_trials=40)
    resumed = autotune(model, tuning, recording, adaptor=SyntheticAdaptor(seed=model.seed), resume=True)
    first_run = {t.config for t in resumed.trials if t.cached}
    assert not first_run & set(evaluated), f"{strategy}: resume re-evaluated a finished config"
    assert resumed.best_config == full.best_config, f"{strategy}: resumed run chose differently"


def check_strategy(strategy: str | type, workdir: str | Path | None = None) -> None:
    """Run every conformance check on ``strategy`` (a registered name or a TuneStrategy class)."""
    name = _register(strategy)
    with tempfile.TemporaryDirectory(prefix="inc-conformance-") as tmp:
        base = Path(workdir) if workdir is not None else Path(tmp)
        for check in CHECKS:
            globals()[check](name, base / check)


def _register(strategy: str | type) -> str:
    if isinstance(strategy, str):
        get_plugin_manager().strategies.get(strategy)  # unknown name -> error listing the installed ones
        return strategy
    from inc_core.plugins.local import strategy_registry

    strategy_registry(strategy)
    return str(getattr(strategy, "name", strategy.__name__))


class StrategyConformance:
    """Subclass in a pytest module with ``strategy = "name"``; each check becomes a test."""

    strategy: str | type = ""


def _as_test(check: str) -> Callable[[StrategyConformance, Path], None]:
    def test(self: StrategyConformance, tmp_path: Path) -> None:
        globals()[check](_register(self.strategy), tmp_path)

    test.__name__ = "test_" + check.removeprefix("check_")
    test.__doc__ = f"Conformance: {check.removeprefix('check_').replace('_', ' ')}."
    return test


for _check in CHECKS:
    _test = _as_test(_check)
    setattr(StrategyConformance, _test.__name__, _test)
