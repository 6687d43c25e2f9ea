"""Quantized stages: whole configs that change how ops are quantized, before any fallback.

Op-type-wise combinations, a lower-bit config, the static -> dynamic switch and "apply all
recipes" (basic's stages 1-5; mse and mse_v2 start from op-type-wise configs, auto's
refine ends with a lower-bit config). None of them moves an op to float.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

from inc_core import OpOption, TuneConfig, TuningSpace


def quantized_type_wise(space: TuningSpace) -> Iterator[TuneConfig]:
    """Op-type-wise configs over quantized options only (float comes from fallback stages).

    The first is the all-default config; the last op type varies fastest.
    """
    base = space.default_config()
    per_type: list[tuple[str, list[OpOption]]] = []
    for op_type in space.op_types:
        ops = space.ops_of_type(op_type)
        shared = [o for o in ops[0].quantized_options if all(o in op.options for op in ops[1:])]
        per_type.append((op_type, shared))
    yield base
    seen = {base}
    for combo in _product([options for _, options in per_type]):
        by_type = {op_type: option for (op_type, _), option in zip(per_type, combo, strict=True)}
        changes: dict[str, OpOption] = {}
        for op in space.ops:
            option = by_type.get(op.type)
            if option is not None and option in op.options:
                changes[op.name] = option
        config = base.replace(changes)
        if config not in seen:
            seen.add(config)
            yield config


def _product(choices: Sequence[Sequence[OpOption]]) -> Iterator[tuple[OpOption | None, ...]]:
    """Cartesian product where a type without quantized options contributes None."""
    options: list[list[OpOption | None]] = [list(c) or [None] for c in choices]
    return itertools.product(*options)


def lower_bit(space: TuningSpace, base: TuneConfig) -> TuneConfig | None:
    """``base`` with every op that offers a lower-bit (e.g. int4) option using it; None if none does."""
    changes = {}
    for op in space.ops:
        current = base[op.name]
        if current.is_float:
            continue
        lower = [o for o in op.quantized_options if o.bits < current.bits]
        if lower:
            changes[op.name] = lower[0]
    return base.replace(changes) if changes else None


def dynamic_switch(space: TuningSpace, base: TuneConfig) -> TuneConfig | None:
    """``base`` with every statically quantized op that offers a dynamic mode switched to it."""
    changes = {}
    for op in space.ops:
        if base[op.name].mode == "static":
            dynamic = next((o for o in op.quantized_options if o.mode == "dynamic"), None)
            if dynamic is not None:
                changes[op.name] = dynamic
    return base.replace(changes) if changes else None


def all_recipes(space: TuningSpace, base: TuneConfig) -> TuneConfig | None:
    """``base`` with every on/off recipe switched on; None if there are no such recipes."""
    switches = {
        name: True for name, values in space.recipes.items() if True in values and base.recipes.get(name) is not True
    }
    return base.replace(recipes=switches) if switches else None
