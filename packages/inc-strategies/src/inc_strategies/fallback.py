"""Float fallback: which ops to move to float, in what order, and the passes that do it.

Used by basic, mse, mse_v2, hawq_v2, auto and conservative. Every pass returns its
configs lazily (generators), so a pass over 10,000 ops costs nothing until its configs
are handed out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from typing import Any

from inc_core import FLOAT_DTYPES, Batch, OpOption, OpSpec, Trial, TuneConfig, TuneStrategy, TuningSpace


def float_dtypes(space: TuningSpace) -> list[str]:
    """Float dtypes some op can fall back to, cheapest accuracy loss first (bf16, fp16, fp32)."""
    return [d for d in FLOAT_DTYPES if any(op.float_option(d) for op in space.ops)]


def best_float(op: OpSpec) -> OpOption | None:
    """An op's best float option: bf16 if supported, else fp16, else fp32."""
    return next((op.float_option(d) for d in FLOAT_DTYPES if op.float_option(d) is not None), None)


def quantized_ops(space: TuningSpace, config: TuneConfig) -> list[OpSpec]:
    """Ops ``config`` runs quantized (the fallback candidates), in graph order."""
    return [op for op in space.ops if not config[op.name].is_float]


def fallback(space: TuningSpace, base: TuneConfig, names: Iterable[str], dtype: str) -> TuneConfig:
    """``base`` with ``names`` in float ``dtype`` (ops without that dtype are left as they are)."""
    return space.with_float(base, names, dtype)


def best_of(strategy: TuneStrategy, configs: Sequence[TuneConfig]) -> TuneConfig:
    """The config among ``configs`` whose consumed trial scored best (the first if none scored).

    This is where a fallback pass starts from when several quantized configs were tried.
    """
    candidates = set(configs)
    scored = [t for t in strategy.trials if t.config in candidates and t.score is not None]
    if not scored:
        return configs[0]
    return min(scored, key=lambda t: strategy.score_key(t.score)).config


# Fallback orders ---------------------------------------------------------------------
def bottom_up(space: TuningSpace, base: TuneConfig) -> list[str]:
    """Quantized ops of ``base`` in reverse graph order (INC's one-by-one order)."""
    return [op.name for op in reversed(quantized_ops(space, base))]


def sensitivity_order(scores: Mapping[str, float], candidates: Iterable[str]) -> list[str]:
    """``candidates`` most sensitive first (ties keep graph order)."""
    names = list(candidates)
    position = {name: i for i, name in enumerate(names)}
    return sorted(names, key=lambda n: (-scores.get(n, 0.0), position[n]))


def rank_by_trials(
    trials: Sequence[Trial], changed: Mapping[TuneConfig, str], score_key: Callable[[float | None], float]
) -> list[str]:
    """Op names ordered by the score their one-by-one trial reached, best first (failed trials last).

    ``score_key`` is the strategy's `TuneStrategy.score_key` (lower = better, None worst);
    equal scores keep proposal order.
    """
    scored = [(score_key(t.score), t.seq, changed[t.config]) for t in trials if t.config in changed]
    scored.sort(key=lambda s: (s[0], s[1]))
    return [name for _, _, name in scored]


def blocks(space: TuningSpace, base: TuneConfig) -> list[list[str]]:
    """Quantized ops grouped into blocks by name prefix (``encoder.layer.3.*``), last block first.

    Only models whose op names carry a hierarchy (``.`` or ``/`` separated) have blocks;
    a flat model yields no blocks, and the block stage is skipped.
    """
    grouped: dict[str, list[str]] = {}
    for op in quantized_ops(space, base):
        parts = re.split(r"[./]", op.name)
        if len(parts) < 3:
            continue
        grouped.setdefault(".".join(parts[:-2]), []).append(op.name)
    if len(grouped) < 2:
        return []
    return list(reversed(list(grouped.values())))


# Fallback passes ---------------------------------------------------------------------
def accumulated(
    space: TuningSpace, base: TuneConfig, dtype: str, ranked: Sequence[str], start: int = 2
) -> Iterator[TuneConfig]:
    """Configs with the top-``start``, top-``start+1``, ... ops of ``ranked`` in ``dtype``."""
    for k in range(start, len(ranked) + 1):
        yield fallback(space, base, ranked[:k], dtype)


def fallback_pass(
    strategy: TuneStrategy, base: TuneConfig, dtype: str, order: Sequence[str]
) -> Generator[Any, Any, bool]:
    """One-by-one fallback of ``order`` to ``dtype``, then accumulated by measured accuracy.

    Use with ``passed = yield from fallback_pass(...)``; returns whether a config passed.
    The one-by-one batch stops at its first passing config (lowest index wins).
    """
    space = strategy.space
    changed: dict[TuneConfig, str] = {}

    def singles() -> Iterator[TuneConfig]:
        for name in order:
            option = space.op(name).float_option(dtype)
            if option is not None and base[name] != option:
                config = base.replace({name: option})
                changed[config] = name
                yield config

    strategy.stage = f"one-by-one fallback to {dtype}"
    trials = yield Batch(singles(), stop_on_pass=True)
    if any(t.passed for t in trials):
        return True
    ranked = rank_by_trials(trials, changed, strategy.score_key)
    strategy.stage = f"accumulated fallback to {dtype}"
    trials = yield Batch(accumulated(space, base, dtype, ranked), stop_on_pass=True)
    return any(t.passed for t in trials)
