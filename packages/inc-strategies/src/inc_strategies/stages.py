"""Building blocks the strategies share: op-type groups, float fallback, fallback passes.

Every function returns configs lazily (generators), so a pass over 10,000 ops costs
nothing until its configs are handed out.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from typing import Any

from inc_core import FLOAT_DTYPES, Batch, OpOption, OpSpec, Trial, TuneConfig, TuneStrategy, TuningSpace

# Conservative's op-type groups in priority order; matched on the lower-cased op type.
TYPE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("conv", ("conv", "convtranspose", "conv1d", "conv2d", "conv3d", "qlinearconv")),
    ("matmul", ("matmul", "gemm", "attention", "fusedmatmul", "multiheadattention", "matmulnbits", "addmm", "mm")),
    ("bmm", ("bmm", "batchmatmul", "baddbmm")),
    ("linear", ("linear", "dense")),
)


def type_group(op_type: str) -> str | None:
    """The conservative group an op type belongs to (``conv``, ``matmul``, ``bmm``, ``linear``) or None."""
    key = op_type.lower()
    for group, members in TYPE_GROUPS:
        if key in members:
            return group
    return None


def float_dtypes(space: TuningSpace) -> list[str]:
    """Float dtypes some op can fall back to, cheapest accuracy loss first (bf16, fp16, fp32)."""
    return [d for d in FLOAT_DTYPES if any(op.float_option(d) for op in space.ops)]


def best_float(op: OpSpec) -> OpOption | None:
    """An op's best float option: bf16 if supported, else fp16, else fp32."""
    return next((op.float_option(d) for d in FLOAT_DTYPES if op.float_option(d) is not None), None)


def quantized_ops(space: TuningSpace, config: TuneConfig) -> list[OpSpec]:
    """Ops ``config`` runs quantized, in graph order."""
    return [op for op in space.ops if not config[op.name].is_float]


def fallback(space: TuningSpace, base: TuneConfig, names: Iterable[str], dtype: str) -> TuneConfig:
    """``base`` with ``names`` in float ``dtype`` (ops without that dtype are left as they are)."""
    return space.with_float(base, names, dtype)


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
    import itertools

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


def one_by_one(space: TuningSpace, base: TuneConfig, dtype: str, order: Sequence[str]) -> Iterator[TuneConfig]:
    """Configs with exactly one op of ``order`` in ``dtype`` (skipping ops that can't or already are)."""
    for name in order:
        option = space.op(name).float_option(dtype)
        if option is not None and base[name] != option:
            yield base.replace({name: option})


def accumulated(
    space: TuningSpace, base: TuneConfig, dtype: str, ranked: Sequence[str], start: int = 2
) -> Iterator[TuneConfig]:
    """Configs with the top-``start``, top-``start+1``, ... ops of ``ranked`` in ``dtype``."""
    for k in range(start, len(ranked) + 1):
        yield fallback(space, base, ranked[:k], dtype)


def bottom_up(space: TuningSpace, base: TuneConfig) -> list[str]:
    """Quantized ops of ``base`` in reverse graph order (INC's one-by-one order)."""
    return [op.name for op in reversed(quantized_ops(space, base))]


def rank_by_trials(trials: Sequence[Trial], changed: Mapping[TuneConfig, str], higher_is_better: bool) -> list[str]:
    """Op names ordered by the score their one-by-one trial reached, best first (failed trials last)."""
    scored = []
    for trial in trials:
        name = changed.get(trial.config)
        if name is None:
            continue
        score = trial.score if trial.score is not None else float("-inf") if higher_is_better else float("inf")
        scored.append((score, trial.seq, name))
    scored.sort(key=lambda s: (-s[0] if higher_is_better else s[0], s[1]))
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


def sensitivity_order(scores: Mapping[str, float], candidates: Iterable[str]) -> list[str]:
    """``candidates`` most sensitive first (ties keep graph order)."""
    names = list(candidates)
    position = {name: i for i, name in enumerate(names)}
    return sorted(names, key=lambda n: (-scores.get(n, 0.0), position[n]))


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
    ranked = rank_by_trials(trials, changed, strategy.context.higher_is_better)
    strategy.stage = f"accumulated fallback to {dtype}"
    trials = yield Batch(accumulated(space, base, dtype, ranked), stop_on_pass=True)
    return any(t.passed for t in trials)


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


def decode_choices(
    indices: Sequence[int], dims: Sequence[tuple[Sequence[str], Sequence[Any]]], base: TuneConfig
) -> TuneConfig:
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
    dims: Sequence[tuple[Sequence[str], Sequence[Any]]],
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


def best_of(strategy: TuneStrategy, configs: list[TuneConfig]) -> TuneConfig:
    """The config among ``configs`` whose consumed trial scored best (the first if none scored)."""
    scored = [t for t in strategy.trials if t.config in set(configs) and t.score is not None]
    best = scored[0] if scored else None
    for trial in scored[1:]:
        if strategy.better_score(trial.score, best.score if best else None):
            best = trial
    return best.config if best else configs[0]


def plan_lines(doc: str | None) -> list[str]:
    """The numbered stages of a strategy module's ``Plan:`` docstring section, one line each.

    A stage may span several docstring lines; the plan ends at the first blank line after it.
    """
    text = (doc or "").partition("Plan:")[2]
    lines: list[str] = []
    for raw in text.strip("\n").splitlines():
        line = raw.strip()
        if not line:
            if lines:
                break
            continue
        if re.match(r"^\d+\.\s", line) or not lines:
            lines.append(line)
        else:
            lines[-1] += " " + line
    return lines
