"""The module named in the ``inc.plugins`` entry point: registers the strategy, imports nothing heavy."""

from __future__ import annotations

from collections.abc import Callable

from inc_core import hookimpl


@hookimpl
def inc_register_strategies(register: Callable[[str, type], None]) -> None:
    from inc_greedy_strategy.strategy import GreedyTuneStrategy

    register("greedy", GreedyTuneStrategy)
