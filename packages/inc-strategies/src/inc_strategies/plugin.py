"""inc-strategies' plugin: registers every strategy (importing only light modules)."""

from __future__ import annotations

from collections.abc import Callable

from inc_core import hookimpl


@hookimpl
def inc_register_strategies(register: Callable[[str, type], None]) -> None:
    from inc_strategies.auto import AutoTuneStrategy
    from inc_strategies.basic import BasicTuneStrategy
    from inc_strategies.bayesian import BayesianTuneStrategy
    from inc_strategies.conservative import ConservativeTuneStrategy
    from inc_strategies.exhaustive import ExhaustiveTuneStrategy
    from inc_strategies.hawq_v2 import HAWQ_V2TuneStrategy
    from inc_strategies.mse import MSETuneStrategy
    from inc_strategies.mse_v2 import MSE_V2TuneStrategy
    from inc_strategies.random import RandomTuneStrategy
    from inc_strategies.tpe import TpeTuneStrategy

    for cls in (
        AutoTuneStrategy,
        BasicTuneStrategy,
        BayesianTuneStrategy,
        ConservativeTuneStrategy,
        ExhaustiveTuneStrategy,
        HAWQ_V2TuneStrategy,
        MSETuneStrategy,
        MSE_V2TuneStrategy,
        RandomTuneStrategy,
        TpeTuneStrategy,
    ):
        register(cls.name, cls)
