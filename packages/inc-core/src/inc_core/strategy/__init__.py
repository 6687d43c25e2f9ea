"""Strategies: the ask/tell base and its generator adapter, option checking, the built-in `sequential`."""

from inc_core.strategy.base import (
    ALL_FP32,
    Batch,
    FallbackDtype,
    NonNegativeInt,
    PositiveInt,
    Proposal,
    StrategyContext,
    TuneStrategy,
    option_model,
    plan_lines,
)

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
