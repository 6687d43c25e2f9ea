"""Quantization modes as search moves: measured presets and per-op demotion.

A *kind* is an option's mode (``static``, ``dynamic``, ``weight_only``) or, for float
options, its dtype. Core's cost model (`inc_core.measure.cost`) measured one uniform preset
per kind before any evaluation; these helpers turn it into configs a strategy
evaluates, fastest first, and name the more accurate modes an op can move to when it
hurts accuracy (static -> int4 weight-only -> dynamic -> int8 weight-only -> float).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inc_core import OpOption, OpSpec, TuneConfig, TuningSpace
from inc_core.evaluate.goal import CONFIDENCE_Z
from inc_core.measure.cost import kinds, option_kind, preset

if TYPE_CHECKING:
    from inc_core.measure.cost import CostModel

QUANTIZED_KINDS: tuple[str, ...] = ("static", "dynamic", "weight_only")


def accuracy_rank(option: OpOption) -> int:
    """How accurate an option's mode is, for demotion (higher = more accurate; float is highest).

    Static int8 scales activations once from calibration (0); weight-only below 8 bits
    (int4) loses weight precision (1); dynamic int8 scales activations per batch (2);
    8-bit weight-only leaves activations in float (3).
    """
    if option.is_float:
        return 4
    if option.mode == "static":
        return 0
    if option.mode == "dynamic":
        return 2
    return 3 if option.bits >= 8 else 1


def preset_order(space: TuningSpace, cost_model: CostModel | None, min_gain: float | None) -> list[str]:
    """Kinds of ``space`` worth a trial as a whole, best measured gain first.

    With a gain goal only kinds whose preset may gain ``min_gain`` within its timing noise
    (`CONFIDENCE_Z` standard errors above the measured speed-up: a slower one cannot meet it,
    and noise must not decide which modes get a trial); without a cost model, every
    quantized kind in the space's order.
    """
    present = [k for k in kinds(space) if k in QUANTIZED_KINDS or cost_model is not None]
    if cost_model is None:
        return [k for k in present if k in QUANTIZED_KINDS]
    threshold = min_gain if min_gain is not None else 0.0

    def may_gain(kind: str) -> bool:
        gain, most = cost_model.gain(kind), cost_model.gain(kind, errors=CONFIDENCE_Z)
        return gain is not None and gain > 0 and most is not None and most >= threshold

    return [k for k in cost_model.ranking() if k in present and may_gain(k)]


def preset_config(space: TuningSpace, kind: str) -> TuneConfig:
    """Every op that offers ``kind`` in it, every other op in fp32 (what the cost model measured)."""
    return preset(space, kind)


def more_accurate_option(op: OpSpec, current: OpOption, kind: str) -> OpOption | None:
    """``op``'s first option of quantized ``kind`` (in the space's gain order) that is more
    accurate than ``current`` by `accuracy_rank`; None if it has none."""
    rank = accuracy_rank(current)
    return next((o for o in op.options if option_kind(o) == kind and accuracy_rank(o) > rank), None)
