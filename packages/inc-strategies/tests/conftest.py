from __future__ import annotations

from pathlib import Path

import pytest

from inc_core import TuningConfig, TuningResult, autotune
from inc_core.testing import ScriptedEvaluator, SyntheticAdaptor, SyntheticModel

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
