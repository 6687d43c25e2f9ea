"""Core's own plugin: the 3.x sequential strategy, the synthetic adaptor and the built-in executors."""

from __future__ import annotations

from collections.abc import Callable

from inc_core.plugins.hookspecs import hookimpl


@hookimpl
def inc_register_strategies(register: Callable[[str, type], None]) -> None:
    from inc_core.strategy.sequential import SequentialTuneStrategy

    register("sequential", SequentialTuneStrategy)


@hookimpl
def inc_register_adaptors(register: Callable[[str, type], None]) -> None:
    from inc_core.adaptor.synthetic import SyntheticAdaptor

    register("synthetic", SyntheticAdaptor)


@hookimpl
def inc_register_executors(register: Callable[[str, type], None]) -> None:
    from inc_core.execute.kinds import BUILTIN_KINDS

    for kind in BUILTIN_KINDS:
        register(kind.__name__.lower(), kind)
