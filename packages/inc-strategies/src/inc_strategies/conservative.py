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

from inc_core import TuneStrategy
from inc_strategies.type_groups import TYPE_GROUPS, all_float, group_ops, group_pass


class ConservativeTuneStrategy(TuneStrategy):
    """INC's conservative strategy: float first, then quantize op-type groups that keep accuracy."""

    name = "conservative"

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        self.stage = "default config"
        yield self.initial_tuning_cfg()
        current = yield from group_pass(self, all_float(self))
        pending = [
            [op.name for op in group_ops(self.space, group) if current[op.name].is_float] for group, _ in TYPE_GROUPS
        ]
        pending = [names for names in pending if names]
        while pending and not (self.best_trial is not None and self.best_trial.met):
            names = pending.pop(0)
            units = self.space.units(names)
            if len(units) < 2:
                continue
            halves = [units[: len(units) // 2], units[len(units) // 2 :]]
            for half in halves:
                # A unit may pair an op with one that has no quantized option left (pruned by the cost model).
                ops = [name for unit in half for name in unit if self.space.op(name).quantized_options]
                candidate = current.replace({name: self.space.op(name).quantized_options[0] for name in ops})
                if candidate == current:
                    continue
                self.stage = f"quantize {len(ops)} op(s) of a failing group"
                trial = yield candidate
                if trial.passed:
                    current = candidate
                else:
                    pending.append(ops)
