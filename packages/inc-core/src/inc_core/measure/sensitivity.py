"""Per-op sensitivity, defined once for every adaptor on top of `Adaptor.tensor_values`.

``mse`` (error each op *adds*): quantize the config (ops it keeps in float take their
first quantized option), run it and the fp32 model on a few calibration batches, and
score each op by the relative error of its output minus the largest relative error
among its inputs. An op fed with already-damaged tensors is not blamed for its
producers' error, so the real culprits (an outlier MatMul, a mask Add) rank first
instead of whatever sits deepest in the graph.

``mse_v2`` (what falling back buys): for each requested op, how much the relative error
of the model's outputs drops when that op's fallback unit alone goes to fp32 (one
quantize and run per op: callers pass a short candidate list).

Relative errors ignore positions where the fp32 value is not finite or reaches
`EXTREME` (an additive attention mask): those would swamp the normalisation and hide
the damage done to the real values. A non-finite quantized value counts as an error
as large as the reference value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from inc_core.adaptor.base import Adaptor, Calibration
from inc_core.space.space import TuningSpace
from inc_core.space.tune_config import TuneConfig

EXTREME = 1e30
"""Magnitude from which a value is a mask/sentinel, not data (float32 masks use -3.4e38)."""


class _ErrorSum:
    """Running relative squared error of one tensor over batches."""

    __slots__ = ("err", "ref")

    def __init__(self) -> None:
        self.err = 0.0
        self.ref = 0.0

    def add(self, want: np.ndarray, got: np.ndarray) -> None:
        want = np.asarray(want, dtype=np.float64)
        got = np.asarray(got, dtype=np.float64)
        if want.shape != got.shape:
            got = np.broadcast_to(got, want.shape) if got.size in (1, want.size) else np.zeros_like(want)
        valid = np.isfinite(want) & (np.abs(want) < EXTREME)
        want, got = want[valid], got[valid]
        got = np.where(np.isfinite(got), got, 0.0)
        self.err += float(np.sum((want - got) ** 2))
        self.ref += float(np.sum(want**2))

    @property
    def value(self) -> float:
        return self.err / (self.ref + 1e-30)


def relative_errors(
    adaptor: Adaptor,
    reference: Any,
    candidate: Any,
    calibration: Calibration,
    names: Sequence[str],
    batches: int,
) -> dict[str, float]:
    """Relative squared error of each named tensor of ``candidate`` against ``reference``."""
    sums = {name: _ErrorSum() for name in names}
    pairs = zip(
        adaptor.tensor_values(reference, calibration, names, batches),
        adaptor.tensor_values(candidate, calibration, names, batches),
        strict=False,
    )
    for want, got in pairs:
        for name, value in want.items():
            if name in got:
                sums[name].add(value, got[name])
    return {name: s.value for name, s in sums.items() if s.ref > 0 or s.err > 0}


def _wanted(space: TuningSpace, ops: Iterable[str] | None) -> list[str]:
    names = [op.name for op in space.ops]
    return names if ops is None else [n for n in names if n in set(ops)]


def op_error(
    adaptor: Adaptor,
    model: Any,
    calibration: Calibration,
    space: TuningSpace,
    config: TuneConfig,
    ops: Iterable[str] | None = None,
    batches: int = 2,
) -> dict[str, float]:
    """``mse``: the relative output error each op adds under ``config`` (higher = more sensitive)."""
    wanted = _wanted(space, ops)
    changes = {}
    for name in wanted:
        spec = space.op(name)
        if config[name].is_float and spec.quantized_options:
            changes[name] = spec.quantized_options[0]
    quantized = adaptor.quantize(model, config.replace(changes), calibration)
    tensors = list(dict.fromkeys(t for name in wanted for t in (*space.op(name).inputs, *space.op(name).outputs)))
    errors = relative_errors(adaptor, model, quantized, calibration, tensors, batches)
    scores = {}
    for name in wanted:
        spec = space.op(name)
        made = max((errors.get(t, 0.0) for t in spec.outputs), default=0.0)
        inherited = max((errors.get(t, 0.0) for t in spec.inputs), default=0.0)
        scores[name] = max(0.0, made - inherited)
    return _by_unit(space, scores)


def fallback_gain(
    adaptor: Adaptor,
    model: Any,
    calibration: Calibration,
    space: TuningSpace,
    config: TuneConfig,
    ops: Iterable[str] | None = None,
    batches: int = 1,
) -> dict[str, float]:
    """``mse_v2``: how much the model outputs' relative error drops when each op's unit alone goes to fp32."""
    outputs = list(space.capability.outputs)

    def output_error(candidate: TuneConfig) -> float:
        built = adaptor.quantize(model, candidate, calibration)
        return sum(relative_errors(adaptor, model, built, calibration, outputs, batches).values())

    base = output_error(config)
    scores: dict[str, float] = {}
    for unit in space.units(_wanted(space, ops)):
        if all(config[name].is_float for name in unit):
            scores.update(dict.fromkeys(unit, 0.0))
            continue
        gain = base - output_error(space.with_float(config, unit, "fp32"))
        scores.update(dict.fromkeys(unit, gain))
    return scores


def _by_unit(space: TuningSpace, scores: Mapping[str, float]) -> dict[str, float]:
    """Every op of a fallback unit scores the unit's highest score (they fall back together)."""
    result = dict(scores)
    for unit in space.units(scores):
        best = max(scores.get(name, 0.0) for name in unit)
        for name in unit:
            if name in result:
                result[name] = best
    return result


METHODS = {"mse": op_error, "mse_v2": fallback_gain}


def supports_tensors(space: TuningSpace) -> bool:
    """Whether the capability names the tensors core's sensitivity needs."""
    return any(op.outputs for op in space.ops)
