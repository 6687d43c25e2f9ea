"""What an adaptor says a model offers: `OpSpec` per quantizable op, gathered in a `Capability`.

Ops in graph order, each with its options (first = default); recipe knobs with their
values (first = default); groups of ops that share a quantized tensor and fall back together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from inc_core.errors import ConfigError
from inc_core.space.tune_config import FLOAT_DTYPES, OpOption


@dataclass(frozen=True)
class OpSpec:
    """One quantizable op: its unique name, its type and its options (first = default).

    ``inputs``/``outputs``: the activation tensors the op reads and writes, named as the
    adaptor's `Adaptor.tensor_values` understands them (empty when unknown).
    """

    name: str
    type: str
    options: tuple[OpOption, ...]
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", tuple(dict.fromkeys(self.options)))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        if not self.options:
            raise ConfigError(f"op {self.name!r} ({self.type}) has no options")

    @property
    def default(self) -> OpOption:
        return self.options[0]

    @cached_property
    def quantized_options(self) -> tuple[OpOption, ...]:
        return tuple(o for o in self.options if not o.is_float)

    def float_option(self, dtype: str) -> OpOption | None:
        """This op's option for float ``dtype``, or None if the op cannot run in it."""
        return self._float_options.get(dtype)

    @cached_property
    def _float_options(self) -> dict[str, OpOption]:
        found: dict[str, OpOption] = {}
        for option in self.options:
            if option.is_float:
                found.setdefault(option.dtype, option)
        return found

    @cached_property
    def float_dtypes(self) -> tuple[str, ...]:
        return tuple(d for d in FLOAT_DTYPES if self.float_option(d) is not None)


@dataclass(frozen=True)
class Capability:
    """What an adaptor can do with one model: ops in graph order and recipe knobs.

    ``groups``: disjoint sets of ops that share one quantized tensor, so that taking one
    of them out of quantization alone changes nothing (an Add feeding a Softmax, a
    residual Add and its LayerNorm): strategies fall them back together. Ops in no
    group are units of their own. ``outputs``: the model's output tensors (for
    output-error sensitivity), named as for `OpSpec.inputs`.
    """

    ops: tuple[OpSpec, ...]
    recipes: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    framework: str = ""
    groups: tuple[tuple[str, ...], ...] = ()
    outputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "ops", tuple(self.ops))
        object.__setattr__(self, "recipes", {k: tuple(v) for k, v in dict(self.recipes).items()})
        object.__setattr__(self, "groups", tuple(tuple(g) for g in self.groups if len(g) > 1))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        seen: set[str] = set()
        for op in self.ops:
            if op.name in seen:
                raise ConfigError(f"capability lists op {op.name!r} twice; op names must be unique")
            seen.add(op.name)
        grouped: set[str] = set()
        for group in self.groups:
            for name in group:
                if name not in seen:
                    raise ConfigError(f"capability group {list(group)} names op {name!r}, which it does not list")
                if name in grouped:
                    raise ConfigError(f"capability groups must be disjoint; op {name!r} is in two")
                grouped.add(name)
