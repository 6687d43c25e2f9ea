from __future__ import annotations

from pathlib import Path

import pytest

from inc_core import PluginLoadError, TuneStrategy, hookimpl, make_plugin_manager, strategy_registry
from inc_core.errors import UnknownNameError
from inc_core.plugins.local import unregister_strategy
from inc_core.testing.distributions import make_distribution

GOOD = """
from inc_core import TuneStrategy, hookimpl

class FancyTuneStrategy(TuneStrategy):
    '''A fancy test strategy.'''
    name = "fancy"
    def next_tune_cfg(self):
        yield self.initial_tuning_cfg()

@hookimpl
def inc_register_strategies(register):
    register("fancy", FancyTuneStrategy)
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_entry_point_plugin_is_found_with_its_distribution(site) -> None:
    make_distribution(site, "fancy-dist", "fancy_plugin", GOOD)
    pm = make_plugin_manager()
    registration = pm.strategies.get("fancy")
    assert registration.source == "fancy-dist" and registration.description == "A fancy test strategy."


def test_broken_plugin_warns_once_and_the_rest_work(site) -> None:
    make_distribution(site, "broken-dist", "broken_plugin", "raise ImportError('missing dependency xyz')\n")
    make_distribution(site, "fancy-dist", "fancy_plugin", GOOD)
    with pytest.warns(
        RuntimeWarning, match="'broken_plugin' from distribution 'broken-dist'.*missing dependency xyz"
    ) as record:
        pm = make_plugin_manager()
    assert len([w for w in record if "broken" in str(w.message)]) == 1
    assert "fancy" in pm.strategies
    assert pm.report.failed[0][:2] == ("broken_plugin", "broken-dist")


def test_strict_mode_raises(site, monkeypatch) -> None:
    make_distribution(site, "broken-dist", "broken_plugin", "raise ImportError('nope')\n")
    with pytest.raises(PluginLoadError, match="broken-dist"):
        make_plugin_manager(strict=True)
    monkeypatch.setenv("INC_PLUGINS_STRICT", "1")
    with pytest.raises(PluginLoadError):
        make_plugin_manager()


def test_allow_list_selects_plugins(site, monkeypatch) -> None:
    make_distribution(site, "broken-dist", "broken_plugin", "raise ImportError('nope')\n")
    make_distribution(site, "fancy-dist", "fancy_plugin", GOOD)
    monkeypatch.setenv("INC_PLUGINS", "fancy-dist")
    pm = make_plugin_manager(strict=True)  # the broken one is never loaded
    assert "fancy" in pm.strategies and pm.report.failed == []


def test_misspelt_hook_fails_at_start_up(site) -> None:
    body = "from inc_core import hookimpl\n\n@hookimpl\ndef inc_register_stratgies(register):\n    pass\n"
    make_distribution(site, "typo-dist", "typo_plugin", body)
    with pytest.raises(PluginLoadError, match="inc_register_stratgies"):
        make_plugin_manager(allow=["typo-dist"])


def test_plugin_object_registration_and_duplicates() -> None:
    class Local(TuneStrategy):
        name = "local"

    class Plugin:
        @hookimpl
        def inc_register_strategies(self, register):
            register("local", Local)

    pm = make_plugin_manager(load_installed=False)
    pm.register_plugin(Plugin(), name="test-plugin")
    assert pm.strategies.get("local").cls is Local

    class Clash:
        @hookimpl
        def inc_register_strategies(self, register):
            register("local", TuneStrategy)

    with pytest.raises(PluginLoadError, match="already registered"):
        pm.register_plugin(Clash(), name="clash")
    pm.unregister(name="test-plugin")


def test_registering_a_non_strategy_is_rejected() -> None:
    class Bad:
        @hookimpl
        def inc_register_strategies(self, register):
            register("bad", dict)

    with pytest.raises(PluginLoadError, match="subclass of TuneStrategy"):
        make_plugin_manager(load_installed=False).register_plugin(Bad(), name="bad")


def test_unknown_name_lists_installed() -> None:
    with pytest.raises(UnknownNameError, match="unknown adaptor 'tensorflow'; installed: synthetic"):
        make_plugin_manager(load_installed=False).adaptors.get("tensorflow")


def test_strategy_registry_decorator_registers_in_process() -> None:
    @strategy_registry
    class NotebookTuneStrategy(TuneStrategy):
        def next_tune_cfg(self):
            yield self.initial_tuning_cfg()

    try:
        assert NotebookTuneStrategy.name == "notebook"
        assert make_plugin_manager(load_installed=False).strategies.get("notebook").cls is NotebookTuneStrategy
    finally:
        unregister_strategy("notebook")
    with pytest.raises(TypeError, match="not a TuneStrategy"):
        strategy_registry(dict)


def _docs_plugin_source() -> str:
    """The executor-and-command plugin of docs/plugins.md section 6, as written there."""
    text = (Path(__file__).resolve().parents[3] / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = text.partition("## 6. ")[2]
    return section.partition("```python\n")[2].partition("```")[0]


def test_documented_executor_and_command_plugin(site, tmp_path) -> None:
    import os
    import subprocess
    import sys

    from inc_core import TuningConfig, autotune
    from inc_core.testing import SyntheticModel, synthetic_accuracy

    make_distribution(site, "pool-dist", "pool_plugin", _docs_plugin_source())
    pm = make_plugin_manager()
    assert pm.executors.get("pool").source == "pool-dist"
    assert "pool:N" in [form for kind in pm.executor_kinds() for form in kind.forms]
    config = TuningConfig(executor="pool:2", workers=2, max_trials=4, run_dir=tmp_path / "run")
    result = autotune(SyntheticModel(6, "flat", seed=1), config, synthetic_accuracy, plugin_manager=pm)
    assert result.trials and all(t.state.value == "complete" for t in result.trials)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "inc_core.cli", "hello"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0 and "strategies:" in done.stdout and "sequential" in done.stdout, done.stderr


def test_an_unknown_executor_lists_the_installed_forms(tmp_path) -> None:
    from inc_core import ConfigError, TuningConfig, autotune
    from inc_core.testing import SyntheticModel, synthetic_accuracy

    config = TuningConfig(executor="pool:2", run_dir=tmp_path / "run")
    with pytest.raises(ConfigError, match=r"unknown executor 'pool:2'; expected 'inline', 'threads', 'process'"):
        autotune(SyntheticModel(4), config, synthetic_accuracy, plugin_manager=make_plugin_manager())


def test_in_process_strategies_share_the_installed_registry() -> None:
    pm = make_plugin_manager(load_installed=False)

    @strategy_registry("shadow")
    class ShadowTuneStrategy(TuneStrategy):
        def next_tune_cfg(self):
            yield self.initial_tuning_cfg()

    try:
        registration = pm.strategies.get("shadow")  # a manager built before the registration sees it
        assert registration.cls is ShadowTuneStrategy and registration.source == "<in-process>"
        assert "shadow" in pm.strategies.names()
    finally:
        unregister_strategy("shadow")
    assert "shadow" not in pm.strategies


def test_an_adaptor_whose_accepts_raises_is_skipped(tmp_path) -> None:
    from inc_core import Adaptor, ConfigError, TuningConfig, autotune
    from inc_core.testing import SyntheticModel, synthetic_accuracy

    class BrokenAdaptor(Adaptor):
        name = "broken"

        @classmethod
        def accepts(cls, model):
            raise RuntimeError("probe exploded")

    class Plugin:
        @hookimpl
        def inc_register_adaptors(self, register):
            register("aaa_broken", BrokenAdaptor)  # sorts first: asked before the synthetic adaptor

    pm = make_plugin_manager()
    pm.register_plugin(Plugin(), name="broken-adaptor")
    config = TuningConfig(run_dir=tmp_path / "run", max_trials=2)
    result = autotune(SyntheticModel(4), config, synthetic_accuracy, plugin_manager=pm)
    assert result.trials
    with pytest.raises(ConfigError, match=r"aaa_broken.accepts\(\) failed: RuntimeError: probe exploded"):
        autotune({"not": "a model"}, TuningConfig(run_dir=tmp_path / "other"), synthetic_accuracy, plugin_manager=pm)
