"""What calibration tells before any evaluation: tensors no int8 scale can represent.

A tensor whose fp32 range reaches `EXTREME` (an additive attention mask of -3.4e38)
cannot share one int8 scale with the real values beside it: static quantization of the
ops that read or write it turns the mask into inf scales and the attention into NaN.
Those ops keep their other options (dynamic, weight-only, float) but leave static
quantization in the default space — found from the data, with no model-type hint.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import numpy as np

from inc_core.adaptor.base import Adaptor, Calibration
from inc_core.errors import NotSupportedError
from inc_core.measure.sensitivity import EXTREME
from inc_core.space.space import TuningSpace

logger = logging.getLogger("inc.ranges")


def extreme_tensors(
    adaptor: Adaptor, model: Any, calibration: Calibration, space: TuningSpace, batches: int = 1
) -> dict[str, float]:
    """Op input/output tensors of the fp32 model whose magnitude reaches `EXTREME` (name -> max |x|)."""
    names = list(dict.fromkeys(t for op in space.ops for t in (*op.inputs, *op.outputs)))
    if not names:
        return {}
    peaks: dict[str, float] = {}
    try:
        for values in adaptor.tensor_values(model, calibration, names, batches):
            for name, value in values.items():
                array = np.asarray(value)
                if array.size and np.issubdtype(array.dtype, np.floating):
                    peak = float(np.max(np.abs(np.nan_to_num(array, nan=0.0, posinf=EXTREME, neginf=-EXTREME))))
                    peaks[name] = max(peaks.get(name, 0.0), peak)
    except NotSupportedError as exc:
        logger.debug("no tensor ranges from the adaptor (%s)", exc)
        return {}
    return {name: peak for name, peak in peaks.items() if peak >= EXTREME}


def ops_touching(space: TuningSpace, tensors: Iterable[str]) -> list[str]:
    """Ops that read or write any of ``tensors``, in graph order."""
    wanted = set(tensors)
    return [op.name for op in space.ops if wanted & {*op.inputs, *op.outputs}]


def without_static(space: TuningSpace, op_names: Iterable[str]) -> TuningSpace:
    """``space`` with the static options of ``op_names`` removed (ops left with nothing keep theirs)."""
    options = {}
    for name in op_names:
        op = space.op(name)
        kept = tuple(o for o in op.options if o.mode != "static")
        if kept and kept != op.options:
            options[name] = kept
    return space.with_options(options) if options else space
