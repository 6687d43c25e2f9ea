"""A synthetic model and adaptor with known per-op sensitivity, cost and size.

Deterministic from a seed, evaluated instantly, up to tens of thousands of ops:
what strategy authors test and benchmark on. The model's "accuracy" under a
config is ``base_accuracy - sum(sensitivity[op] * damage(option))``; latency is a
per-op cost scaled by the option, plus a Q/DQ conversion cost wherever a
quantized op meets a float one (as on real runtimes).

Profiles:

* ``flat``: every op equally and mildly sensitive; full int8 passes a 1% goal.
* ``few_sensitive``: a handful of ops each cost several percent; the rest are harmless.
* ``many_mild``: a third of the ops are mildly sensitive; many must fall back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inc_core.adaptor.base import Adaptor, Calibration
from inc_core.errors import ConfigError
from inc_core.space.capability import Capability, OpSpec
from inc_core.space.tune_config import OpOption, TuneConfig

PROFILES = ("flat", "few_sensitive", "many_mild")
OP_TYPES = ("Conv", "MatMul", "Add", "Gemm")
WEIGHTED_TYPES = frozenset({"Conv", "MatMul", "Gemm"})

# How much of an op's sensitivity an option costs (fp32 = none).
_DAMAGE = {"fp32": 0.0, "bf16": 0.02, "fp16": 0.03, "int8": 1.0, "uint8": 1.1, "int4": 3.0}
# Latency of an op under an option, relative to fp32.
_SPEED = {"fp32": 1.0, "bf16": 0.75, "fp16": 0.8, "int8": 0.45, "uint8": 0.45, "int4": 0.5}
_MODE_DAMAGE = {"static": 1.0, "dynamic": 0.7, "weight_only": 0.6, "float": 1.0}
_MODE_SPEED = {"static": 1.0, "dynamic": 1.3, "weight_only": 1.5, "float": 1.0}
_PARAM_DAMAGE = {("weight_granularity", "per_tensor"): 1.3, ("act_algorithm", "entropy"): 0.85}
QDQ_COST = 0.08  # a float<->int8 conversion costs this fraction of the neighbour's fp32 cost


def _int_bits_dtype(bits: int) -> str:
    return f"int{bits}"


def default_options(op_type: str, extra_int_bits: Sequence[int] = ()) -> tuple[OpOption, ...]:
    """The options a synthetic op of ``op_type`` offers, default first."""
    options: list[OpOption] = []
    if op_type in ("Conv", "Gemm"):
        for granularity in ("per_channel", "per_tensor"):
            for algorithm in ("minmax", "entropy"):
                options.append(
                    OpOption("int8", "static", {"weight_granularity": granularity, "act_algorithm": algorithm})
                )
    elif op_type == "MatMul":
        options.append(OpOption("int8", "static", {"weight_granularity": "per_tensor", "act_algorithm": "minmax"}))
        options.append(OpOption("int8", "dynamic", {"weight_granularity": "per_tensor"}))
        options.append(OpOption("int4", "weight_only", {"group_size": 32}))
    else:
        options.append(OpOption("int8", "static", {"act_algorithm": "minmax"}))
    options += [OpOption("int" + str(b), "weight_only", {"group_size": 32}) for b in extra_int_bits]
    options += [OpOption.float("bf16"), OpOption.float("fp32")]
    return tuple(dict.fromkeys(options))


@dataclass
class SyntheticModel:
    """A float model of ``n_ops`` ops with seeded sensitivities, costs and sizes."""

    n_ops: int = 20
    profile: str = "few_sensitive"
    seed: int = 0
    base_accuracy: float = 0.8
    op_types: Sequence[str] = OP_TYPES
    extra_int_bits: Sequence[int] = ()
    n_sensitive: int = 3
    speed: Mapping[str, float] = field(default_factory=dict)
    """Overrides of the latency factors by dtype (``int8``, ``bf16``, ...) or mode (``static``,
    ``dynamic``, ...), e.g. ``{"static": 2.5, "bf16": 1.6}`` for a CPU transformer on which
    static QDQ and bf16 are slower than fp32 and dynamic int8 is the fast mode."""
    damage: Mapping[str, float] = field(default_factory=dict)
    """Overrides of the accuracy damage factors, keyed like ``speed``."""
    config: TuneConfig | None = None  # set on quantized copies
    names: list[str] = field(init=False, repr=False)
    types: list[str] = field(init=False, repr=False)
    sensitivity: np.ndarray = field(init=False, repr=False)
    cost: np.ndarray = field(init=False, repr=False)
    weight_bytes: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ConfigError(f"SyntheticModel.profile must be one of {PROFILES}, got {self.profile!r}")
        if self.n_ops < 0:
            raise ConfigError(f"SyntheticModel.n_ops must be >= 0, got {self.n_ops}")
        rng = np.random.default_rng(self.seed)
        n = self.n_ops
        self.types = [self.op_types[i % len(self.op_types)] for i in range(n)]
        self.names = [f"{t.lower()}_{i}" for i, t in enumerate(self.types)]
        self.sensitivity = self._sensitivities(rng, n)
        self.cost = rng.uniform(0.5, 1.5, n) * np.array([2.0 if t in WEIGHTED_TYPES else 0.3 for t in self.types])
        self.cost *= 1e-4  # seconds
        self.weight_bytes = np.array(
            [int(rng.integers(10_000, 200_000)) if t in WEIGHTED_TYPES else 0 for t in self.types], dtype=np.int64
        )

    def _sensitivities(self, rng: np.random.Generator, n: int) -> np.ndarray:
        budget = self.base_accuracy  # losses are fractions of the base accuracy
        if n == 0:
            return np.zeros(0)
        if self.profile == "flat":
            return np.full(n, 0.004 * budget / n)
        if self.profile == "few_sensitive":
            sens = rng.uniform(0.0, 0.003 * budget / n, n)
            hot = rng.choice(n, size=min(self.n_sensitive, n), replace=False)
            sens[hot] = rng.uniform(0.02, 0.05, len(hot)) * budget
            return sens
        mild = rng.random(n) < 1 / 3
        sens = rng.uniform(0.0, 0.001 * budget / n, n)
        sens[mild] = rng.uniform(0.5, 1.5, int(mild.sum())) * 0.06 * budget / max(1, int(mild.sum()))
        return sens

    # The "framework" --------------------------------------------------------------
    def option_damage(self, option: OpOption) -> float:
        factors = {**_DAMAGE, **_MODE_DAMAGE, **self.damage}
        damage = factors.get(option.dtype, 8.0 / max(option.bits, 1))
        damage *= factors[option.mode]
        for key, value in option.params:
            damage *= _PARAM_DAMAGE.get((key, value), 1.0)
        return damage

    def losses(self, config: TuneConfig | None) -> np.ndarray:
        """Per-op accuracy loss under ``config`` (zeros for the float model)."""
        if config is None:
            return np.zeros(self.n_ops)
        damage = np.fromiter((self.option_damage(config.ops[n]) for n in self.names), float, self.n_ops)
        return self.sensitivity * damage

    def accuracy(self) -> float:
        return float(self.base_accuracy - self.losses(self.config).sum())

    def latency(self) -> float:
        if self.config is None:
            return float(self.cost.sum())
        options = [self.config.ops[n] for n in self.names]
        factors = {**_SPEED, **_MODE_SPEED, **self.speed}
        speed = np.array([factors.get(o.dtype, 0.5) * factors[o.mode] for o in options])
        quantized = np.array([not o.is_float for o in options])
        transitions = np.flatnonzero(quantized[1:] != quantized[:-1]) if self.n_ops > 1 else np.zeros(0, int)
        return float((self.cost * speed).sum() + QDQ_COST * self.cost[transitions].sum())

    def size(self) -> int:
        if self.config is None:
            return int(self.weight_bytes.sum())
        bits = np.array([self.config.ops[n].bits for n in self.names])
        return int((self.weight_bytes * bits // 32).sum())

    def quantized(self, config: TuneConfig) -> SyntheticModel:
        clone = object.__new__(SyntheticModel)
        clone.__dict__.update(self.__dict__)
        clone.config = config
        return clone


def synthetic_accuracy(model: SyntheticModel) -> float:
    """The eval function for synthetic models (module level, so it pickles)."""
    return model.accuracy()


class SyntheticAdaptor(Adaptor):
    """Adaptor for `SyntheticModel`: capability, quantize, latency, size, sensitivity.

    ``noise``: relative noise on sensitivity scores (real MSE only correlates with
    accuracy loss). Counts ``quantize_calls`` and ``sensitivity_calls`` for tests.
    """

    name = "synthetic"

    def __init__(self, noise: float = 0.3, seed: int = 0) -> None:
        self.noise = noise
        self.seed = seed
        self.quantize_calls = 0
        self.sensitivity_calls = 0

    @classmethod
    def accepts(cls, model: Any) -> bool:
        return isinstance(model, SyntheticModel)

    def capability(self, model: SyntheticModel) -> Capability:
        cache: dict[str, tuple[OpOption, ...]] = {}
        ops = []
        for name, op_type in zip(model.names, model.types, strict=True):
            if op_type not in cache:
                cache[op_type] = default_options(op_type, model.extra_int_bits)
            ops.append(OpSpec(name, op_type, cache[op_type]))
        return Capability(tuple(ops), {"calib_sampling_size": (100, 50, 200)}, framework="synthetic")

    def quantize(self, model: SyntheticModel, tune_cfg: TuneConfig, calibration: Calibration) -> SyntheticModel:
        missing = set(model.names) - set(tune_cfg.ops)
        if missing:
            raise ConfigError(f"tune config has no option for op {sorted(missing)[0]!r}")
        self.quantize_calls += 1
        return model.quantized(tune_cfg)

    def benchmark(self, model: SyntheticModel, calibration: Calibration) -> float:
        return model.latency()

    def model_size(self, model: SyntheticModel) -> int:
        return model.size()

    def save(self, model: SyntheticModel, path: str | Path) -> Path:
        """Writes the model's config (a synthetic model has no weights to save)."""
        target = Path(path).with_suffix(".synthetic.json")
        config = model.config or TuneConfig({})
        return config.save(target)

    def op_sensitivity(
        self,
        model: SyntheticModel,
        tune_cfg: TuneConfig,
        calibration: Calibration,
        method: str = "mse",
        ops: Sequence[str] | None = None,
    ) -> Mapping[str, float]:
        self.sensitivity_calls += 1
        wanted = list(ops) if ops is not None else model.names
        index = {name: i for i, name in enumerate(model.names)}
        rng = np.random.default_rng([self.seed, len(wanted), sum(map(len, wanted)) % 100_003])
        noise = np.exp(rng.normal(0.0, self.noise, len(wanted))) if self.noise else np.ones(len(wanted))
        losses = model.losses(tune_cfg)
        scores: dict[str, float] = {}
        for k, name in enumerate(wanted):
            i = index[name]
            if method == "mse":  # error of this op quantized alone (as in tune_cfg, or its default)
                option = tune_cfg.ops[name]
                if option.is_float:
                    option = next(o for o in default_options(model.types[i], model.extra_int_bits) if not o.is_float)
                scores[name] = float(model.sensitivity[i] * model.option_damage(option) * noise[k])
            elif method in ("mse_v2", "hawq_v2"):  # gain from falling back this op / curvature
                scores[name] = (
                    float(losses[i] * noise[k]) if method == "mse_v2" else float(model.sensitivity[i] * noise[k])
                )
            else:
                raise ConfigError(f"synthetic adaptor: unknown sensitivity method {method!r}")
        return scores
