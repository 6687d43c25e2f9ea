"""Per-op sensitivity for the mse-style strategies.

``mse``: quantize with the config (ops it leaves in float take their default quantized
option), run fp32 and quantized models with every op's output exposed, and score each
op by the normalized MSE of its output (error reaching and made by that op).
``mse_v2``: for each quantized op, the drop in final-output MSE when that op alone
falls back to fp32 (one quantize + run per op; calibration statistics are reused).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from inc_core import Calibration, OpOption, TuneConfig

if TYPE_CHECKING:
    import onnx

    from inc_onnx.adaptor import OnnxAdaptor, _ModelState
    from inc_onnx.calibration import Feed


def _expose(model: onnx.ModelProto, tensors: list[str]) -> onnx.ModelProto:
    import copy

    from onnx import TensorProto, helper

    exposed = copy.deepcopy(model)
    present = {o for n in exposed.graph.node for o in n.output} | {i.name for i in exposed.graph.input}
    have = {o.name for o in exposed.graph.output}
    for name in tensors:
        if name in present and name not in have:
            exposed.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
            have.add(name)
    return exposed


def _outputs(model: onnx.ModelProto, feeds: list[Feed], names: list[str], threads: int) -> dict[str, list[np.ndarray]]:
    from inc_onnx.model_io import session

    sess = session(model, threads=threads)
    available = [o.name for o in sess.get_outputs() if o.name in set(names)]
    results: dict[str, list[np.ndarray]] = {n: [] for n in available}
    for feed in feeds:
        for name, value in zip(available, sess.run(available, feed), strict=True):
            results[name].append(np.asarray(value, dtype=np.float64))
    return results


def _nmse(reference: list[np.ndarray], other: list[np.ndarray]) -> float:
    err = sum(float(np.mean((a - b) ** 2)) for a, b in zip(reference, other, strict=True))
    scale = sum(float(np.mean(a**2)) for a in reference) + 1e-12
    return err / scale


def _selected(state: _ModelState, ops: Sequence[str] | None) -> list[str]:
    names = [op.name for op in state.capability.ops]
    return names if ops is None else [n for n in names if n in set(ops)]


def per_op_mse(
    adaptor: OnnxAdaptor,
    state: _ModelState,
    model: Any,
    tune_cfg: TuneConfig,
    calibration: Calibration,
    feeds: list[Feed],
    ops: Sequence[str] | None,
) -> Mapping[str, float]:
    wanted = _selected(state, ops)
    changes = {}
    for op in state.capability.ops:
        if op.name in wanted and tune_cfg.ops[op.name].is_float and op.quantized_options:
            changes[op.name] = op.quantized_options[0]
    quantized = adaptor.quantize(model, tune_cfg.replace(changes), calibration)
    nodes = {n.name: n for n in state.prepared.model.graph.node}
    tensors = {name: [o for o in nodes[name].output if o] for name in wanted}
    flat = [t for ts in tensors.values() for t in ts]
    reference = _outputs(_expose(state.prepared.model, flat), feeds, flat, adaptor.threads)
    observed = _outputs(_expose(quantized, flat), feeds, flat, adaptor.threads)
    scores = {}
    for name, outs in tensors.items():
        common = [t for t in outs if t in reference and t in observed]
        scores[name] = max((_nmse(reference[t], observed[t]) for t in common), default=0.0)
    return scores


def fallback_gain(
    adaptor: OnnxAdaptor,
    state: _ModelState,
    model: Any,
    tune_cfg: TuneConfig,
    calibration: Calibration,
    feeds: list[Feed],
    ops: Sequence[str] | None,
) -> Mapping[str, float]:
    outputs = [o.name for o in state.prepared.model.graph.output]
    reference = _outputs(state.prepared.model, feeds, outputs, adaptor.threads)
    base = _outputs(adaptor.quantize(model, tune_cfg, calibration), feeds, outputs, adaptor.threads)
    base_err = sum(_nmse(reference[o], base[o]) for o in outputs)
    scores: dict[str, float] = {}
    for name in _selected(state, ops):
        if tune_cfg.ops[name].is_float:
            scores[name] = 0.0
            continue
        trial = adaptor.quantize(model, tune_cfg.replace({name: OpOption.float("fp32")}), calibration)
        err = sum(_nmse(reference[o], v) for o, v in _outputs(trial, feeds, outputs, adaptor.threads).items())
        scores[name] = base_err - err
    return scores
