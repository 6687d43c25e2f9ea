"""A strategy shipped by another distribution (tests/plugins/inc-toy-strategy), found only via entry points."""

from __future__ import annotations

import json
import subprocess
import sys

from inc_core import TuningConfig, autotune, get_plugin_manager
from inc_core.testing import SyntheticModel, synthetic_accuracy
from inc_core.testing.conformance import StrategyConformance


def test_autotune_finds_the_installed_strategy(tmp_path) -> None:
    registration = get_plugin_manager().strategies.get("toy")
    assert registration.source == "inc-toy-strategy"
    model = SyntheticModel(20, "few_sensitive", seed=5)
    result = autotune(model, TuningConfig(strategy="toy", run_dir=tmp_path), synthetic_accuracy)
    assert result.trials and {t.stage for t in result.trials} <= {"default", "type fallback"}


def test_inc_plugins_lists_it_with_its_distribution() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "inc_core.cli", "plugins", "--json"], capture_output=True, text=True, check=True
    ).stdout
    data = json.loads(out)
    assert {"name": "toy", "distribution": "inc-toy-strategy"} in data["strategies"]
    assert {"name": "synthetic", "distribution": "inc-core"} in data["adaptors"]


class TestToyConformance(StrategyConformance):
    strategy = "toy"
