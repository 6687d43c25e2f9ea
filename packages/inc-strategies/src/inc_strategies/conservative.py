"""conservative: start from float, quantize one op-type group at a time, keep what passes.

Plan:
1. the default config (every strategy's first trial): meeting the goal ends a
   ``timeout=0`` run here;
2. start (not evaluated) from every op at its best float dtype (bf16 if supported,
   else fp16, else fp32);
3. for each op-type group present, in priority order conv, matmul (MatMul, Gemm,
   Attention, ...), bmm (BatchMatMul, bmm, ...), linear: the current config with that
   group quantized (each op at its default quantized option, static or dynamic alike);
   keep it if it passes, revert otherwise;
4. while the goal is not met: each group that failed is split in halves (graph order),
   each half quantized on top of the current config and kept if it passes, failing
   halves split again down to single fallback units, so conservative never ends on an
   all-float model while some part of it can be quantized.

1 + G trials for G groups when a whole group passes; about 2 log2(N) more per
culprit op when groups must be split. Ops outside the four groups stay float.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from inc_core import TuneConfig, TuneStrategy
from inc_strategies import stages


def all_float(strategy: TuneStrategy) -> TuneConfig:
    """Every op at its best float option (ops without one keep their default)."""
    changes = {}
    for op in strategy.space.ops:
        option = stages.best_float(op)
        if option is not None:
            changes[op.name] = option
    return strategy.initial_tuning_cfg().replace(changes)


def group_pass(strategy: TuneStrategy, current: TuneConfig) -> Generator[Any, Any, TuneConfig]:
    """Quantize the op-type groups of ``current`` one at a time; keep each one that passes.

    ``current`` is usually all float; returns the config that keeps every passing group.
    The pass is atomic (as in INC): a passing group does not end a ``timeout=0`` run
    before the remaining groups were tried on top of it.
    """
    strategy.atomic_stage = True
    try:
        current = yield from _quantize_groups(strategy, current)
    finally:
        strategy.atomic_stage = False
    return current


def _quantize_groups(strategy: TuneStrategy, current: TuneConfig) -> Generator[Any, Any, TuneConfig]:
    for group, _ in stages.TYPE_GROUPS:
        ops = [op for op in strategy.space.ops if stages.type_group(op.type) == group and op.quantized_options]
        if not ops:
            continue
        strategy.stage = f"quantize the {group} group"
        candidate = current.replace({op.name: op.quantized_options[0] for op in ops})
        if candidate == current:
            continue
        trial = yield candidate
        if trial.passed:
            current = candidate
    return current


class ConservativeTuneStrategy(TuneStrategy):
    """INC's conservative strategy: float first, then quantize op-type groups that keep accuracy."""

    name = "conservative"

    def plan(self) -> list[str]:
        """The stages this strategy runs, one printable line each."""
        return stages.plan_lines(__doc__)

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        self.stage = "default config"
        yield self.initial_tuning_cfg()
        current = yield from group_pass(self, all_float(self))
        pending = [
            [
                op.name
                for op in self.space.ops
                if stages.type_group(op.type) == group and op.quantized_options and current[op.name].is_float
            ]
            for group, _ in stages.TYPE_GROUPS
        ]
        pending = [names for names in pending if names]
        while pending and not (self.best_trial is not None and self.best_trial.met):
            names = pending.pop(0)
            units = self.space.units(names)
            if len(units) < 2:
                continue
            halves = [units[: len(units) // 2], units[len(units) // 2 :]]
            for half in halves:
                ops = [name for unit in half for name in unit]
                candidate = current.replace({name: self.space.op(name).quantized_options[0] for name in ops})
                if candidate == current:
                    continue
                self.stage = f"quantize {len(ops)} op(s) of a failing group"
                trial = yield candidate
                if trial.passed:
                    current = candidate
                else:
                    pending.append(ops)
