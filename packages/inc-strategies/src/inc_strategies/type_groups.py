"""Op-type groups (conv, matmul, bmm, linear) and the pass that quantizes them group by group.

INC's conservative strategy quantizes a float model one op-type group at a time; the
group pass is a stage of its own, so another strategy can run it too.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from inc_core import OpSpec, TuneConfig, TuneStrategy, TuningSpace
from inc_strategies.fallback import best_float

# The op-type groups in priority order; matched on the lower-cased op type.
TYPE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("conv", ("conv", "convtranspose", "conv1d", "conv2d", "conv3d", "qlinearconv")),
    ("matmul", ("matmul", "gemm", "attention", "fusedmatmul", "multiheadattention", "matmulnbits", "addmm", "mm")),
    ("bmm", ("bmm", "batchmatmul", "baddbmm")),
    ("linear", ("linear", "dense")),
)


def type_group(op_type: str) -> str | None:
    """The group an op type belongs to (``conv``, ``matmul``, ``bmm``, ``linear``) or None."""
    key = op_type.lower()
    for group, members in TYPE_GROUPS:
        if key in members:
            return group
    return None


def group_ops(space: TuningSpace, group: str) -> list[OpSpec]:
    """The ops of ``group`` that can be quantized, in graph order."""
    return [op for op in space.ops if type_group(op.type) == group and op.quantized_options]


def all_float(strategy: TuneStrategy) -> TuneConfig:
    """Every op at its best float option (ops without one keep their default)."""
    changes = {}
    for op in strategy.space.ops:
        option = best_float(op)
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
    for group, _ in TYPE_GROUPS:
        ops = group_ops(strategy.space, group)
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
