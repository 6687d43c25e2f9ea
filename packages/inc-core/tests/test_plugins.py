from __future__ import annotations

import pytest

from inc_core import PluginLoadError, TuneStrategy, hookimpl, make_plugin_manager, strategy_registry
from inc_core.errors import UnknownNameError
from inc_core.strategy.registry import unregister_strategy
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
