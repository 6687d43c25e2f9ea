"""Turn the user's tuning space into the default space one run searches, before any trial.

1. Tensor ranges (`inc_core.measure.ranges`): ops touching a tensor no int8 scale can hold (an
   additive attention mask) lose their static options.
2. Cost model (`inc_core.measure.cost`): uniform presets measured against fp32 on this machine;
   modes that gain nothing leave the space, the rest are ordered fastest first. Its
   benchmark takes at most half of one fp32 evaluation (measured just before), at least 1 s.

Both are measured once per run directory and replayed on resume (the history's
``prepared_space`` entry), so a resumed run searches exactly the same space. A run with
a ``config_set`` (INC 3.x's loop) keeps the user's space as it is: its configs are
explicit; the cost model still measures the fp32 baseline and the gains.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inc_core.adaptor.base import Adaptor, Calibration
from inc_core.config.objectives import Objectives
from inc_core.config.tuning import TuningConfig
from inc_core.measure import cost, ranges, timing
from inc_core.space.space import TuningSpace

# The cost model's benchmark of all presets together, as a share of one fp32 evaluation.
COST_MODEL_SHARE = 0.5

logger = logging.getLogger("inc")


@dataclass
class PreparedSpace:
    """The space after range checks and pruning, and what decided it."""

    space: TuningSpace
    cost_model: cost.CostModel
    gain_measurable: bool
    fingerprint: str
    extreme: dict[str, float] = field(default_factory=dict)
    static_excluded: list[str] = field(default_factory=list)
    removed: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "cost_model": self.cost_model.to_dict(),
            "gain_measurable": self.gain_measurable,
            "extreme": self.extreme,
            "static_excluded": self.static_excluded,
            "removed": self.removed,
        }


def prepare_space(
    space: TuningSpace,
    adaptor: Adaptor,
    model: Any,
    calibration: Calibration,
    config: TuningConfig,
    baseline_seconds: float | None,
    cached: Mapping[str, Any] | None,
) -> PreparedSpace:
    """The default space searched for ``model``; ``cached``: a previous `PreparedSpace.to_dict` of the run dir.

    ``baseline_seconds`` (one fp32 evaluation) sizes the cost model's benchmark.
    """
    fingerprint = space.fingerprint()
    if cached is not None and cached.get("fingerprint") != fingerprint:
        cached = None
    explicit = config.config_set is not None
    weights = dict(config.objectives)
    forced = cost.forced_kinds(config.global_constraint, config.op_type_dict, config.op_name_dict)

    if cached is not None:
        extreme = dict(cached.get("extreme") or {})
    else:
        extreme = {} if explicit else ranges.extreme_tensors(adaptor, model, calibration, space)
    excluded: list[str] = []
    if extreme and "static" not in forced:
        excluded = ranges.ops_touching(space, extreme)
        space = ranges.without_static(space, excluded)
        logger.info(
            "%d tensor(s) reach +-1e30 (e.g. %s: an additive mask); %d op(s) touching them leave static "
            "quantization: %s",
            len(extreme),
            next(iter(extreme)),
            len(excluded),
            ", ".join(excluded[:8]) + (" ..." if len(excluded) > 8 else ""),
        )

    if cached is not None and cached.get("cost_model") is not None:
        measured = cost.CostModel.from_dict(cached["cost_model"], weights)
    else:
        seconds = timing.share_of(baseline_seconds, COST_MODEL_SHARE, floor=1.0)
        measured = cost.measure(adaptor, model, calibration, space, weights, not explicit, seconds)
        logger.info("cost model (%.1f s, no evaluation): %s", measured.seconds, measured.describe())
    weighted = any(w > 0 for w in weights.values())
    measurable = weighted and (measured.latency_measured or not weights.get("latency", 0))
    if weighted and not measurable:
        logger.warning(
            "the %s adaptor cannot measure latency: the goal is accuracy-only (gain unknown); "
            "passing configs are ranked by size",
            adaptor.name,
        )
        weights = {"latency": 0.0, "model_size": 1.0}
        objectives = Objectives(weights, None, measured.baseline_size)
        measured = dataclasses.replace(measured, objectives=objectives, latency_measured=False)
    removed: dict[str, str] = {}
    if not explicit and measurable:
        pruning = cost.prune(space, measured, forced, drop_slower=config.min_gain is not None)
        space, removed = pruning.space, pruning.removed
    return PreparedSpace(space, measured, measurable, fingerprint, extreme, excluded, removed)
