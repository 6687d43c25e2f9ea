"""`TuningSpace`: the adaptor's `Capability` under the user's constraints.

Constraints apply global < op type < op-name regex; the space offers the queries and
enumerations strategies are built from.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any

from inc_core.errors import ConfigError
from inc_core.space.capability import Capability, OpSpec
from inc_core.space.tune_config import FLOAT_DTYPES, OpOption, TuneConfig

Constraint = Mapping[str, Any]
"""Field name (``dtype``, ``mode`` or a param) -> allowed value or list of values."""


def _allowed_values(value: Any) -> tuple[Any, ...]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(value)
    return (value,)


def _option_allowed(option: OpOption, constraint: Mapping[str, tuple[Any, ...]]) -> bool:
    for key, allowed in constraint.items():
        value = option.get(key, _MISSING)
        if value is _MISSING:
            # Float options have no scheme/granularity: such keys don't restrict them,
            # except ``mode`` which every option has.
            continue
        if value not in allowed:
            return False
    return True


_MISSING = object()
_CACHED = ("op_types", "tunable_ops")  # cached_property values a copy with other options must recompute


def _check_values(op: OpSpec, constraint: Mapping[str, tuple[Any, ...]], where: str) -> None:
    for key, allowed in constraint.items():
        valid = {o.get(key) for o in op.options if o.get(key, _MISSING) is not _MISSING}
        unknown = [v for v in allowed if v not in valid]
        if unknown:
            choices = sorted(map(str, valid)) or "(none: the op has no such field)"
            raise ConfigError(
                f"{where}: op {op.name!r} ({op.type}) does not support {key}={unknown[0]!r}; "
                f"valid {key} values: {choices}"
            )


class TuningSpace:
    """The constrained per-op option lists and recipe values one run searches.

    ``op_type_dict`` maps op types, ``op_name_dict`` maps op-name regexes (full match)
    to constraints; ``global_constraint`` applies to every op. Later levels override
    earlier ones key by key. A value an op doesn't support is a `ConfigError`.
    """

    def __init__(
        self,
        capability: Capability,
        *,
        global_constraint: Constraint | None = None,
        op_type_dict: Mapping[str, Constraint] | None = None,
        op_name_dict: Mapping[str, Constraint] | None = None,
        recipes: Mapping[str, Any] | None = None,
    ) -> None:
        self.capability = capability
        self.framework = capability.framework
        patterns = [(re.compile(p), p, c) for p, c in (op_name_dict or {}).items()]
        type_dict = dict(op_type_dict or {})
        known_types = {op.type for op in capability.ops}
        for op_type in type_dict:
            if op_type not in known_types:
                raise ConfigError(
                    f"op_type_dict: no op of type {op_type!r} in the model; types present: {sorted(known_types)}"
                )
        self.ops: tuple[OpSpec, ...] = tuple(
            self._constrain(op, global_constraint or {}, type_dict, patterns) for op in capability.ops
        )
        self.recipes: dict[str, tuple[Any, ...]] = self._constrain_recipes(capability.recipes, recipes or {})
        self._index = {op.name: i for i, op in enumerate(self.ops)}
        self._units = {name: group for group in capability.groups for name in group}

    def with_options(self, options: Mapping[str, Sequence[OpOption]]) -> TuningSpace:
        """A copy of this space with some ops' option lists replaced (order kept as given; first = default).

        How measured costs prune and reorder the default space (`inc_core.measure.cost`).
        """
        clone = TuningSpace.__new__(TuningSpace)
        clone.__dict__.update({k: v for k, v in self.__dict__.items() if k not in _CACHED})
        clone.ops = tuple(
            dataclasses.replace(op, options=tuple(options[op.name])) if op.name in options else op for op in self.ops
        )
        return clone

    @staticmethod
    def _constrain(
        op: OpSpec,
        global_constraint: Constraint,
        type_dict: Mapping[str, Constraint],
        patterns: Sequence[tuple[re.Pattern[str], str, Constraint]],
    ) -> OpSpec:
        layers: list[tuple[str, Constraint]] = []
        if global_constraint:
            layers.append(("global constraint", global_constraint))
        if op.type in type_dict:
            layers.append((f"op_type_dict[{op.type!r}]", type_dict[op.type]))
        layers += [(f"op_name_dict[{raw!r}]", c) for rx, raw, c in patterns if rx.fullmatch(op.name)]
        if not layers:
            return op
        merged: dict[str, tuple[Any, ...]] = {}
        for where, constraint in layers:
            normalised = {k: _allowed_values(v) for k, v in constraint.items()}
            if where != "global constraint":
                _check_values(op, normalised, where)
            merged.update(normalised)
        options = tuple(o for o in op.options if _option_allowed(o, merged))
        if not options:
            raise ConfigError(f"constraints {merged} leave op {op.name!r} ({op.type}) with no option")
        return dataclasses.replace(op, options=options)

    @staticmethod
    def _constrain_recipes(
        available: Mapping[str, tuple[Any, ...]], chosen: Mapping[str, Any]
    ) -> dict[str, tuple[Any, ...]]:
        result = dict(available)
        for name, value in chosen.items():
            if name not in available:
                raise ConfigError(f"recipes: unknown recipe {name!r}; this adaptor offers {sorted(available)}")
            values = _allowed_values(value)
            bad = [v for v in values if v not in available[name]]
            if bad:
                raise ConfigError(f"recipes[{name!r}]: unsupported value {bad[0]!r}; valid: {list(available[name])}")
            result[name] = values
        return result

    # Queries ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self) -> Iterator[OpSpec]:
        return iter(self.ops)

    def op(self, name: str) -> OpSpec:
        try:
            return self.ops[self._index[name]]
        except KeyError:
            raise ConfigError(f"no op named {name!r} in the tuning space") from None

    def index(self, name: str) -> int:
        """Graph-order position of op ``name``."""
        return self._index[name]

    @cached_property
    def op_types(self) -> tuple[str, ...]:
        """Op types in order of first appearance in the graph."""
        return tuple(dict.fromkeys(op.type for op in self.ops))

    @cached_property
    def tunable_ops(self) -> tuple[OpSpec, ...]:
        """Ops with more than one option (the only ones a search can change)."""
        return tuple(op for op in self.ops if len(op.options) > 1)

    def size(self) -> int:
        """Number of distinct op-wise configs (product of option counts, times recipes)."""
        total = 1
        for op in self.ops:
            total *= len(op.options)
        for values in self.recipes.values():
            total *= len(values)
        return total

    def contains(self, config: TuneConfig) -> bool:
        """Whether ``config`` assigns every op one of its allowed options and known recipe values."""
        if set(config.ops) != set(self._index):
            return False
        if any(config.ops[op.name] not in op.options for op in self.ops):
            return False
        return all(k in self.recipes and v in self.recipes[k] for k, v in config.recipes.items())

    # Configs ---------------------------------------------------------------
    def default_recipes(self) -> dict[str, Any]:
        return {name: values[0] for name, values in self.recipes.items()}

    def default_config(self) -> TuneConfig:
        """Every op at its first option, every recipe at its first value."""
        return TuneConfig({op.name: op.default for op in self.ops}, self.default_recipes())

    def config(self, ops: Mapping[str, OpOption] | None = None, recipes: Mapping[str, Any] | None = None) -> TuneConfig:
        """The default config with some ops/recipes changed, validated against the space."""
        base = self.default_config()
        for name, option in (ops or {}).items():
            if option not in self.op(name).options:
                valid = [str(o) for o in self.op(name).options]
                raise ConfigError(f"op {name!r}: option {option} is not in its space; valid: {valid}")
        return base.replace(ops, recipes)

    def unit(self, name: str) -> tuple[str, ...]:
        """The ops that fall back together with op ``name`` (its capability group, or itself)."""
        return self._units.get(name, (name,))

    def units(self, names: Iterable[str] | None = None) -> list[tuple[str, ...]]:
        """Fallback units covering ``names`` (default: every op), in order of first appearance."""
        seen: set[str] = set()
        result = []
        for name in names if names is not None else (op.name for op in self.ops):
            if name in seen:
                continue
            unit = self.unit(name)
            seen.update(unit)
            result.append(unit)
        return result

    def with_float(self, base: TuneConfig, op_names: Iterable[str], dtype: str = "fp32") -> TuneConfig:
        """``base`` with the given ops — and the rest of their units — in float ``dtype``.

        Ops that can't run in ``dtype`` are left as they are.
        """
        changes = {}
        for unit in self.units(op_names):
            for name in unit:
                option = self.op(name).float_option(dtype)
                if option is not None:
                    changes[name] = option
        return base.replace(changes)

    def ops_of_type(self, op_type: str) -> list[OpSpec]:
        return [op for op in self.ops if op.type == op_type]

    def matching_option(self, op: OpSpec, settings: Mapping[str, Any]) -> OpOption | None:
        """The first option of ``op`` that has at least one of ``settings``' fields and agrees on all it has."""
        for option in op.options:
            present = [k for k in settings if option.get(k, _MISSING) is not _MISSING]
            if present and all(option.get(k) == settings[k] for k in present):
                return option
        return None

    def config_from_settings(
        self, settings: Mapping[str, Any], op_overrides: Mapping[str, Mapping[str, Any]] | None = None
    ) -> TuneConfig:
        """A config applying flat ``settings`` to every eligible op (others keep their default).

        Keys naming a recipe set that recipe. ``op_overrides`` maps op-name regexes to
        settings that win over the global ones for matching ops.
        """
        recipe_settings = {k: v for k, v in settings.items() if k in self.recipes}
        op_settings = {k: v for k, v in settings.items() if k not in self.recipes}
        for key in [*op_settings, *(k for s in (op_overrides or {}).values() for k in s)]:
            if not any(o.get(key, _MISSING) is not _MISSING for op in self.ops for o in op.options):
                fields = sorted({f for op in self.ops for o in op.options for f in o.fields()} | set(self.recipes))
                raise ConfigError(f"config setting {key!r}: no op option or recipe has that field; known: {fields}")
        compiled = [(re.compile(p), s) for p, s in (op_overrides or {}).items()]
        ops: dict[str, OpOption] = {}
        for op in self.ops:
            effective = dict(op_settings)
            for rx, override in compiled:
                if rx.fullmatch(op.name):
                    # a float override stands alone: the global quantization fields don't apply to it
                    floating = override.get("dtype") in FLOAT_DTYPES
                    effective = dict(override) if floating else {**effective, **override}
            option = self.matching_option(op, effective) if effective else None
            ops[op.name] = option or op.default
        return TuneConfig(ops, {**self.default_recipes(), **recipe_settings})

    def op_wise_configs(self) -> Iterator[TuneConfig]:
        """Every op-wise combination (last op varying fastest), recipes at their default."""
        names = [op.name for op in self.ops]
        recipes = self.default_recipes()
        for combo in itertools.product(*(op.options for op in self.ops)):
            yield TuneConfig(dict(zip(names, combo, strict=True)), recipes)

    def op_type_wise_configs(self) -> Iterator[TuneConfig]:
        """One config per combination of per-type options; the last op type varies fastest.

        For each op type the candidate options are those every op of the type supports
        (in the first op's order); the first config is all-defaults.
        """
        per_type: list[tuple[OpOption, ...]] = []
        for op_type in self.op_types:
            ops = self.ops_of_type(op_type)
            common = [o for o in ops[0].options if all(o in op.options for op in ops[1:])]
            per_type.append(tuple(common) or (ops[0].default,))
        seen: set[TuneConfig] = set()
        for combo in itertools.product(*per_type):
            by_type = dict(zip(self.op_types, combo, strict=True))
            config = TuneConfig(
                {op.name: by_type[op.type] if by_type[op.type] in op.options else op.default for op in self.ops},
                self.default_recipes(),
            )
            if config not in seen:
                seen.add(config)
                yield config

    def model_wise_configs(self) -> Iterator[TuneConfig]:
        """One config per option that every op shares, in the first op's option order."""
        if not self.ops:
            return
        for option in self.ops[0].options:
            if all(option in op.options for op in self.ops[1:]):
                yield TuneConfig({op.name: option for op in self.ops}, self.default_recipes())

    def fingerprint(self) -> str:
        """A stable digest of the space, so a resumed run can check it searches the same space."""
        import hashlib

        digest = hashlib.sha256()
        for op in self.ops:
            digest.update(f"{op.name}|{op.type}|{'|'.join(map(str, op.options))}\n".encode())
        for name, values in sorted(self.recipes.items()):
            digest.update(f"recipe {name}={values!r}\n".encode())
        return digest.hexdigest()[:16]
