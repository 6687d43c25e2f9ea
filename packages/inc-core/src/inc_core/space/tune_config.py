"""Immutable records of what a trial quantizes: one option per op, plus recipe values.

`OpOption` is one way to run one op (dtype, mode and method parameters).
`TuneConfig` maps every op name to its option and carries global recipe values.
Both are frozen, hashable and round-trip through plain JSON/YAML dicts, so the same
object is what strategies propose, adaptors consume, history stores and
`deploy_config` writes.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when available: 20x faster on big configs
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FLOAT_DTYPES: tuple[str, ...] = ("bf16", "fp16", "fp32")
"""Float dtypes in the order fallback tries them (cheapest accuracy loss first)."""

QUANT_MODES: tuple[str, ...] = ("static", "dynamic", "weight_only", "float")


def _freeze_params(params: Mapping[str, Any] | tuple[tuple[str, Any], ...]) -> tuple[tuple[str, Any], ...]:
    items = params.items() if isinstance(params, Mapping) else params
    frozen: list[tuple[str, Any]] = []
    for key, value in items:
        if isinstance(value, list):
            value = tuple(value)
        frozen.append((str(key), value))
    return tuple(sorted(frozen))


@dataclass(frozen=True, eq=False)
class OpOption:
    """One way to execute one op.

    dtype: ``int8``, ``uint8``, ``int4``, ``bf16``, ``fp16`` or ``fp32``.
    mode: ``static``, ``dynamic``, ``weight_only`` or ``float`` (implied by a float dtype).
    params: method details the framework understands, e.g. ``weight_granularity``,
    ``weight_scheme``, ``act_scheme``, ``act_algorithm``, ``group_size``.
    """

    dtype: str
    mode: str = "static"
    params: Any = ()  # a mapping or (key, value) pairs; stored as sorted pairs
    _hash: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.dtype in FLOAT_DTYPES and self.mode != "float":
            object.__setattr__(self, "mode", "float")
        if self.mode not in QUANT_MODES:
            raise ValueError(f"OpOption.mode must be one of {QUANT_MODES}, got {self.mode!r}")
        object.__setattr__(self, "params", _freeze_params(self.params))
        # Cached: configs of 10,000 ops hash their options constantly.
        object.__setattr__(self, "_hash", hash((self.dtype, self.mode, self.params)))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, OpOption):
            return NotImplemented
        return self._hash == other._hash and (self.dtype, self.mode, self.params) == (
            other.dtype,
            other.mode,
            other.params,
        )

    @classmethod
    def float(cls, dtype: str = "fp32") -> OpOption:
        """The option that keeps an op in a float dtype."""
        return cls(dtype=dtype, mode="float")

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_DTYPES

    @property
    def bits(self) -> int:
        """Storage bits of the op's weights (16 for bf16/fp16, 32 for fp32)."""
        return _dtype_bits(self.dtype)

    def get(self, key: str, default: Any = None) -> Any:
        """Value of a field: ``dtype``, ``mode`` or a parameter name."""
        if key == "dtype":
            return self.dtype
        if key == "mode":
            return self.mode
        for name, value in self.params:
            if name == key:
                return value
        if key == "bits":
            return self.bits
        return default

    def fields(self) -> dict[str, Any]:
        """All fields as one flat dict (``dtype``, ``mode`` and the params)."""
        return {"dtype": self.dtype, "mode": self.mode, **dict(self.params)}

    def to_dict(self) -> dict[str, Any]:
        return dict(self._json_fields)

    @functools.cached_property
    def _json_fields(self) -> dict[str, Any]:
        """JSON-ready fields, computed once (options are shared by thousands of configs)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.fields().items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OpOption:
        data = dict(data)
        try:
            dtype = data.pop("dtype")
        except KeyError:
            raise ValueError(f"op option {data!r} has no 'dtype'") from None
        mode = data.pop("mode", "float" if dtype in FLOAT_DTYPES else "static")
        return cls(dtype=dtype, mode=mode, params=data)

    def __str__(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in self.params)
        return f"{self.dtype}/{self.mode}" + (f"[{extra}]" if extra else "")


_MASK = (1 << 61) - 1


@functools.lru_cache(maxsize=64)
def _dtype_bits(dtype: str) -> int:
    digits = "".join(ch for ch in dtype if ch.isdigit())
    return int(digits) if digits else 32


_M64 = (1 << 64) - 1


@functools.lru_cache(maxsize=1 << 18)  # strategies re-derive the same (op, option) pairs constantly
def _item_hash(name: str, option: OpOption) -> int:
    """A well-mixed hash of one (op, option) pair (splitmix64 over the tuple hash).

    The config hash is a sum of these, so they must not differ by the same amount for
    every op when only the option changes (raw tuple hashes do, and collide).
    """
    x = hash((name, option)) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


class TuneConfig(Mapping[str, OpOption]):
    """An immutable mapping op name -> `OpOption`, plus global recipe values.

    Hashable and comparable. The hash is an order-free sum over (op, option) pairs,
    so `replace` updates it in O(changed ops): strategies derive thousands of
    configs from one base on 10,000-op models. Serialisable with `to_dict`/`from_dict`,
    `to_json`, `to_yaml`.
    """

    __slots__ = ("_hash", "_ops", "_ops_hash", "ops", "recipes")
    ops: Mapping[str, OpOption]
    recipes: Mapping[str, Any]
    _ops: dict[str, OpOption]
    _ops_hash: int
    _hash: int

    def __init__(self, ops: Mapping[str, OpOption], recipes: Mapping[str, Any] | None = None) -> None:
        ops_copy = dict(ops)
        ops_hash = 0
        for name, option in ops_copy.items():
            ops_hash = (ops_hash + _item_hash(name, option)) & _MASK
        self._set(ops_copy, recipes or {}, ops_hash)

    def _set(self, ops: dict[str, OpOption], recipes: Mapping[str, Any], ops_hash: int) -> None:
        frozen = {str(k): tuple(v) if isinstance(v, list) else v for k, v in dict(recipes).items()}
        object.__setattr__(self, "_ops", ops)
        object.__setattr__(self, "ops", MappingProxyType(ops))
        object.__setattr__(self, "recipes", MappingProxyType(frozen))
        object.__setattr__(self, "_ops_hash", ops_hash)
        object.__setattr__(self, "_hash", hash((ops_hash, frozenset(frozen.items()))))

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (TuneConfig, (dict(self.ops), dict(self.recipes)))

    # Mapping protocol -------------------------------------------------------
    def __getitem__(self, op_name: str) -> OpOption:
        return self.ops[op_name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, TuneConfig):
            return NotImplemented
        return self._hash == other._hash and self.recipes == other.recipes and self.ops == other.ops

    def __repr__(self) -> str:
        return f"TuneConfig({self.summary()})"

    # Derived configs ---------------------------------------------------------
    def replace(
        self, ops: Mapping[str, OpOption] | None = None, recipes: Mapping[str, Any] | None = None
    ) -> TuneConfig:
        """A new config with some ops' options and/or recipe values changed (O(changes) hashing)."""
        new_ops = self._ops.copy()
        ops_hash = self._ops_hash
        for name, option in (ops or {}).items():
            old = new_ops.get(name)
            if old is not None:
                ops_hash -= _item_hash(name, old)
            ops_hash += _item_hash(name, option)
            new_ops[name] = option
        config = TuneConfig.__new__(TuneConfig)
        config._set(new_ops, {**self.recipes, **recipes} if recipes else self.recipes, ops_hash & _MASK)
        return config

    def reduces_precision(self) -> bool:
        """Whether any op runs below fp32 (quantized, bf16 or fp16): an all-fp32 config is the float model."""
        return any(option.dtype != "fp32" for option in self.ops.values())

    def float_ops(self) -> list[str]:
        """Names of the ops this config leaves in a float dtype."""
        return [name for name, option in self.ops.items() if option.is_float]

    def summary(self, max_items: int = 4) -> str:
        """A short human summary: counts per dtype/mode and the recipes."""
        counts: dict[str, int] = {}
        for option in self.ops.values():
            label = option.dtype if option.is_float else f"{option.dtype}/{option.mode}"
            counts[label] = counts.get(label, 0) + 1
        parts = [f"{label}:{n}" for label, n in sorted(counts.items(), key=lambda kv: -kv[1])]
        text = " ".join(parts[:max_items]) + (" ..." if len(parts) > max_items else "")
        if self.recipes:
            text += " | " + " ".join(f"{k}={v}" for k, v in sorted(self.recipes.items()))
        return text

    # Serialisation -----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "ops": {name: option.to_dict() for name, option in self.ops.items()},
            "recipes": {k: list(v) if isinstance(v, tuple) else v for k, v in self.recipes.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TuneConfig:
        if not isinstance(data, Mapping) or "ops" not in data:
            raise ValueError("a tune config must be a mapping with an 'ops' key")
        ops = {str(name): OpOption.from_dict(opt) for name, opt in data["ops"].items()}
        return cls(ops, data.get("recipes") or {})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> TuneConfig:
        return cls.from_dict(json.loads(text))

    def to_yaml(self) -> str:
        return yaml.dump(self.to_dict(), Dumper=_Dumper, sort_keys=False)

    def save(self, path: str | Path) -> Path:
        """Write the config as YAML (``.yaml``/``.yml``) or JSON (anything else)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = self.to_yaml() if path.suffix in {".yaml", ".yml"} else self.to_json()
        path.write_text(text, encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> TuneConfig:
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=_Loader) if path.suffix in {".yaml", ".yml"} else json.loads(text)
        return cls.from_dict(data)
