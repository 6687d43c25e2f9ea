"""Strategies: the ask/tell base and its generator adapter, option checking, the built-in `sequential`."""

from inc_core.strategy.base import TuneStrategy, plan_lines
from inc_core.strategy.context import StrategyContext
from inc_core.strategy.generator import ALL_FP32, Batch, Proposal
from inc_core.strategy.options import FallbackDtype, NonNegativeInt, PositiveInt, option_model

__all__ = [
    "ALL_FP32",
    "Batch",
    "FallbackDtype",
    "NonNegativeInt",
    "PositiveInt",
    "Proposal",
    "StrategyContext",
    "TuneStrategy",
    "option_model",
    "plan_lines",
]
