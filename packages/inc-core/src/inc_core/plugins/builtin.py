"""Core's own plugin: the 3.x sequential strategy, the synthetic adaptor and the logger."""

from __future__ import annotations

from collections.abc import Callable

from inc_core.plugins.hookspecs import hookimpl


@hookimpl
def inc_register_strategies(register: Callable[[str, type], None]) -> None:
    from inc_core.strategy.sequential import SequentialTuneStrategy

    register("sequential", SequentialTuneStrategy)


@hookimpl
def inc_register_adaptors(register: Callable[[str, type], None]) -> None:
    from inc_core.testing.synthetic import SyntheticAdaptor

    register("synthetic", SyntheticAdaptor)
