"""The documented third-party strategy distribution (examples/third_party_strategy), installed for real."""

from __future__ import annotations

import json
import subprocess
import sys

from inc_core import TuningConfig, autotune, get_plugin_manager
from inc_core.testing import SyntheticModel, synthetic_accuracy
from inc_core.testing.conformance import StrategyConformance


def test_found_through_its_entry_point() -> None:
    registration = get_plugin_manager().strategies.get("greedy")
    assert registration.source == "inc-greedy-strategy"
    assert registration.description == "Greedy fallback of the most sensitive op until the goal is met."


def test_inc_strategies_lists_it() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "inc_core.cli", "strategies", "--json"], capture_output=True, text=True, check=True
    ).stdout
    assert {
        "name": "greedy",
        "distribution": "inc-greedy-strategy",
        "description": "Greedy fallback of the most sensitive op until the goal is met.",
    } in json.loads(out)


def test_tunes_a_model_that_needs_fallback(tmp_path) -> None:
    model = SyntheticModel(30, "few_sensitive", seed=4, n_sensitive=2)
    result = autotune(model, TuningConfig(strategy="greedy", run_dir=tmp_path), synthetic_accuracy)
    assert result.met_goal and 1 <= len(result.best_config.float_ops()) <= 4


class TestGreedyConformance(StrategyConformance):
    strategy = "greedy"
