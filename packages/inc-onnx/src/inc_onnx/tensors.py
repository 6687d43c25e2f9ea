"""Read named intermediate tensors of an fp32 or quantized model (`OnnxAdaptor.tensor_values`).

Names are those of the prepared fp32 graph (the capability's `OpSpec.inputs`/`outputs`).
In a model our passes produced, the float value at such a point is found as:

- QDQ: the output of the DequantizeLinear that reads ``Q(name)`` (what consumers see),
  except before Relu/Clip (`CLIPPING`), else ``name`` itself where it is still float;
- QOperator: ORT renames a quantized tensor ``name_quantized`` next to the initializers
  ``name_scale`` / ``name_zero_point``: a DequantizeLinear is added to read it back;
- fp16/bf16: where the Cast back to fp32 was dropped, the ``name_fp16`` twin is Cast up;
- dynamic and weight-only passes keep their nodes' output names.

Names found in none of these ways are left out. Exposing a tensor adds a graph output to
a copy of the model; the copy is run by the caller.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from inc_onnx.graph import producers, tensor_types

if TYPE_CHECKING:
    import onnx

EXPOSED_SUFFIX = "_inc_exposed"
CLIPPING = frozenset({"Relu", "Clip"})
"""Activations whose input ORT quantizes with the *output's* range (it folds them into the Q):
their input's Q/DQ clips values the activation removes anyway, so the float input is the
value at that point, and the clipping error shows (correctly) on the activation's output."""


def folded_activations(prepared: onnx.ModelProto) -> dict[str, str]:
    """Output -> input of the prepared graph's Relu/Clip nodes (QOperator folds them into their producer)."""
    return {node.output[0]: node.input[0] for node in prepared.graph.node if node.op_type in CLIPPING}


def expose(
    model: onnx.ModelProto, names: Sequence[str], folded: Mapping[str, str] | None = None
) -> tuple[onnx.ModelProto, dict[str, str]]:
    """A copy of ``model`` with ``names`` as graph outputs; returns it and output name -> requested name.

    ``folded`` (`folded_activations` of the prepared graph): where QOperator removed a Relu/Clip,
    its output is read from its input's quantized tensor, and that input (whose pre-clipping
    value is gone) is left out.
    """
    from onnx import TensorProto, helper

    exposed = copy.deepcopy(model)
    graph = exposed.graph
    made_by = producers(exposed)
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    inits = {i.name for i in graph.initializer}
    inputs = {i.name for i in graph.input}
    types = tensor_types(exposed)
    outputs = {o.name for o in graph.output}
    found: dict[str, str] = {}
    folded = {out: src for out, src in (folded or {}).items() if out not in made_by and out not in inputs}
    clipped = set(folded.values())

    def quant_params(quantized: str) -> list[str] | None:
        """Scale (and zero point) of ``quantized``, following ops that keep their input's (MaxPool, Reshape)."""
        while True:
            base = quantized.removesuffix("_quantized")
            if f"{base}_scale" in inits:
                return [f"{base}_scale"] + ([f"{base}_zero_point"] if f"{base}_zero_point" in inits else [])
            node = made_by.get(quantized)
            if node is None or not node.input or not node.input[0].endswith("_quantized"):
                return None
            quantized = node.input[0]

    def dequantized(name: str) -> str | None:
        for q in readers.get(name, []):
            if q.op_type == "QuantizeLinear" and q.input[0] == name:
                for dq in readers.get(q.output[0], []):
                    users = readers.get(dq.output[0], [])
                    if dq.op_type == "DequantizeLinear" and not (users and all(u.op_type in CLIPPING for u in users)):
                        return str(dq.output[0])
        return None

    def is_float(name: str) -> bool:
        return types.get(name, TensorProto.FLOAT) == TensorProto.FLOAT

    for name in dict.fromkeys(names):
        if name in inits:
            continue
        source = dequantized(name)
        if source is None and (name in made_by or name in inputs) and is_float(name):
            source = name
        quantized = f"{folded.get(name, name)}_quantized"
        params = quant_params(quantized) if source is None and quantized in made_by else None
        if params is not None and (name in folded or name not in clipped):
            source = name + EXPOSED_SUFFIX
            graph.node.append(
                helper.make_node("DequantizeLinear", [quantized, *params], [source], name=f"{name}_inc_dequantize")
            )
        if source is None:
            for suffix in ("_fp16", "_bf16"):
                if f"{name}{suffix}" in made_by:
                    source = name + EXPOSED_SUFFIX
                    graph.node.append(
                        helper.make_node(
                            "Cast", [f"{name}{suffix}"], [source], name=f"{name}_inc_cast", to=TensorProto.FLOAT
                        )
                    )
                    break
        if source is None:
            continue
        if source not in outputs:
            graph.output.append(helper.make_tensor_value_info(source, TensorProto.FLOAT, None))
            outputs.add(source)
        found[source] = name
    return exposed, found
