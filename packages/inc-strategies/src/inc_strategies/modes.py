"""Quantization modes as search moves: measured presets and per-op demotion.

A *kind* is an option's mode (``static``, ``dynamic``, ``weight_only``) or, for float
options, its dtype. Core's cost model (`inc_core.cost`) measured one uniform preset
per kind before any evaluation; these helpers turn it into configs a strategy
evaluates, fastest first, and name the more accurate modes an op can move to when it
hurts accuracy (static -> dynamic -> weight-only -> float).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inc_core import OpOption, OpSpec, TuneConfig, TuningSpace
from inc_core.cost import kinds, option_kind, preset

if TYPE_CHECKING:
    from inc_core.cost import CostModel

ACCURACY_ORDER: tuple[str, ...] = ("static", "dynamic", "weight_only")
"""Quantized kinds from least to most accurate: static scales activations once from
calibration, dynamic per batch, weight-only leaves activations in float."""


def preset_order(space: TuningSpace, cost_model: CostModel | None, min_gain: float | None) -> list[str]:
    """Kinds of ``space`` worth a trial as a whole, best measured gain first.

    With a gain goal only kinds whose preset gains at least ``min_gain`` (a slower one
    cannot meet it); without a cost model, every quantized kind in the space's order.
    """
    present = [k for k in kinds(space) if k in ACCURACY_ORDER or cost_model is not None]
    if cost_model is None:
        return [k for k in present if k in ACCURACY_ORDER]
    threshold = min_gain if min_gain is not None else 0.0
    order = [k for k in cost_model.ranking() if k in present]
    return [k for k in order if (gain := cost_model.gain(k)) is not None and gain > 0 and gain >= threshold]


def preset_config(space: TuningSpace, kind: str) -> TuneConfig:
    """Every op that offers ``kind`` in it, every other op in fp32 (what the cost model measured)."""
    return preset(space, kind)


def more_accurate_kinds(option: OpOption) -> tuple[str, ...]:
    """Quantized kinds more accurate than ``option``'s (none for float options)."""
    kind = option_kind(option)
    return ACCURACY_ORDER[ACCURACY_ORDER.index(kind) + 1 :] if kind in ACCURACY_ORDER else ()


def option_of_kind(op: OpSpec, kind: str) -> OpOption | None:
    """``op``'s first option of ``kind`` (in the space's gain order), or None."""
    return next((o for o in op.options if option_kind(o) == kind), None)
