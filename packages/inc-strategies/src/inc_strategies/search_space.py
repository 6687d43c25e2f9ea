"""The search space black-box samplers see (bayesian, tpe): dimensions, decoding, unseen draws.

A dimension is ``(names, choices)``: the ops (or ``recipe:NAME``) that take one shared
choice. A sampler picks one choice index per dimension; `decode_choices` turns the
indices into a config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inc_core import OpOption, TuneConfig, TuningSpace

Dimension = tuple[Sequence[str], Sequence[Any]]
"""Op names (or ``recipe:NAME``) and the choices they share."""


def parameter_groups(space: TuningSpace, max_params: int) -> list[tuple[list[str], tuple[OpOption, ...]]]:
    """Search dimensions for black-box samplers: (op names, shared choices).

    One dimension per op with several options while there are at most ``max_params`` of
    them; beyond that, ops of the same type (and option list) are split into contiguous
    chunks, about ``max_params`` dimensions in all, so a sampler's cost per trial stays
    bounded on 10,000-op models.
    """
    tunable = space.tunable_ops
    if len(tunable) <= max_params:
        return [([op.name], op.options) for op in tunable]
    families: dict[tuple[str, tuple[OpOption, ...]], list[str]] = {}
    for op in tunable:
        families.setdefault((op.type, op.options), []).append(op.name)
    groups: list[tuple[list[str], tuple[OpOption, ...]]] = []
    for (_, options), names in families.items():
        chunks = max(1, round(max_params * len(names) / len(tunable)))
        size = -(-len(names) // chunks)
        groups += [(names[i : i + size], options) for i in range(0, len(names), size)]
    return groups


def dimensions(space: TuningSpace, max_params: int) -> list[Dimension]:
    """Every search dimension: the op groups of `parameter_groups`, then each recipe with several values."""
    dims: list[Dimension] = list(parameter_groups(space, max_params))
    dims += [([f"recipe:{name}"], values) for name, values in space.recipes.items() if len(values) > 1]
    return dims


def decode_choices(indices: Sequence[int], dims: Sequence[Dimension], base: TuneConfig) -> TuneConfig:
    """``base`` with each dimension's ops (or ``recipe:NAME``) set to its chosen value."""
    ops: dict[str, OpOption] = {}
    recipes: dict[str, Any] = {}
    for index, (names, choices) in zip(indices, dims, strict=True):
        choice = choices[index]
        for name in names:
            if name.startswith("recipe:"):
                recipes[name.removeprefix("recipe:")] = choice
            else:
                ops[name] = choice
    return base.replace(ops, recipes)


def random_unseen(
    rng: Any,
    dims: Sequence[Dimension],
    seen: Mapping[TuneConfig, Any],
    base: TuneConfig,
    attempts: int = 1000,
) -> list[int] | None:
    """Choice indices (one per dimension) of a seeded random config not in ``seen``; None if none found."""
    for _ in range(attempts):
        indices = [int(rng.integers(len(choices))) for _, choices in dims]
        if decode_choices(indices, dims, base) not in seen:
            return indices
    return None
