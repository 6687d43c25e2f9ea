"""Run selected nodes in fp16 (or bf16): Cast their float inputs down and their outputs back up.

Written here rather than using ``onnxruntime.transformers.float16`` because we need
node-level control inside graphs that already hold Q/DQ, MatMulInteger and
MatMulNBits nodes: only the chosen nodes change, weights used only by them are stored
in the low dtype, and chains of low-precision nodes pass tensors without a
round-trip Cast between them.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnx

# Inputs that ONNX requires to stay float32 whatever the node's data type is.
FLOAT32_ONLY_INPUTS: dict[str, frozenset[int]] = {"Resize": frozenset({1, 2})}


def _low_array(array: np.ndarray, elem_type: int) -> onnx.TensorProto:
    import onnx
    from onnx import numpy_helper

    if elem_type == onnx.TensorProto.FLOAT16:
        return numpy_helper.from_array(np.clip(array, -65504, 65504).astype(np.float16))
    import ml_dtypes

    return numpy_helper.from_array(array.astype(ml_dtypes.bfloat16))


def convert_nodes(
    model: onnx.ModelProto, node_names: Collection[str], types: dict[str, int], dtype: str = "fp16"
) -> onnx.ModelProto:
    """Make ``node_names`` compute in ``dtype`` (``fp16`` or ``bf16``), in place; returns ``model``.

    ``types``: element type of each tensor (float tensors are the ones converted).
    Graph inputs and outputs keep their types.
    """
    import onnx
    from onnx import helper, numpy_helper

    low = onnx.TensorProto.FLOAT16 if dtype == "fp16" else onnx.TensorProto.BFLOAT16
    suffix = "_" + dtype
    wanted = set(node_names)
    if not wanted:
        return model
    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    users: dict[str, list[str]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node.name)
    graph_outputs = {o.name for o in graph.output}
    low_name: dict[str, str] = {}  # float tensor -> its low-precision twin
    new_nodes: list[onnx.NodeProto] = []
    new_inits: list[onnx.TensorProto] = []

    def is_float(name: str) -> bool:
        return types.get(name) == onnx.TensorProto.FLOAT

    for node in graph.node:
        if node.name not in wanted:
            new_nodes.append(node)
            continue
        keep32 = FLOAT32_ONLY_INPUTS.get(node.op_type, frozenset())
        for i, name in enumerate(node.input):
            if not name or i in keep32 or not is_float(name):
                continue
            if name not in low_name:
                if name in inits and all(u in wanted for u in users.get(name, [])):
                    tensor = _low_array(numpy_helper.to_array(inits[name]), low)
                    tensor.name = name + suffix
                    new_inits.append(tensor)
                else:
                    new_nodes.append(
                        helper.make_node("Cast", [name], [name + suffix], name=f"{node.name}_in{i}_to_{dtype}", to=low)
                    )
                low_name[name] = name + suffix
            node.input[i] = low_name[name]
        casts_back = []
        for i, name in enumerate(node.output):
            if not name or not is_float(name):
                continue
            node.output[i] = name + suffix
            low_name[name] = name + suffix
            casts_back.append(
                helper.make_node(
                    "Cast", [name + suffix], [name], name=f"{node.name}_out{i}_to_fp32", to=onnx.TensorProto.FLOAT
                )
            )
        new_nodes.append(node)
        new_nodes.extend(casts_back)
    # Drop Casts back to fp32 that nobody reads (the next low-precision node reads the twin).
    read = {name for n in new_nodes for name in n.input} | graph_outputs
    kept = [
        n for n in new_nodes if not (n.op_type == "Cast" and n.output[0] not in read and n.name.endswith("_to_fp32"))
    ]
    # Initializers now read only through their twin are dropped.
    read = {name for n in kept for name in n.input} | graph_outputs
    graph.ClearField("node")
    graph.node.extend(kept)
    graph.initializer.extend(new_inits)
    unused = [init for init in graph.initializer if init.name not in read]
    for init in unused:
        graph.initializer.remove(init)
    return model


def probe(node: onnx.NodeProto, model: onnx.ModelProto, types: dict[str, int], shapes: dict, dtype: str) -> bool:
    """Whether ONNX Runtime's CPU provider builds a session for ``node`` computing in ``dtype``.

    Builds a one-node model with the node's real attributes and weights, converts it
    with `convert_nodes` and asks ORT for a session (kernel lookup happens there).
    """
    import onnx
    from onnx import helper

    from inc_onnx.model_io import session

    inits = {init.name: init for init in model.graph.initializer}
    inputs, node_inits = [], []
    for name in node.input:
        if not name:
            continue
        if name in inits:
            node_inits.append(inits[name])
        elif name in types:
            inputs.append(helper.make_tensor_value_info(name, types[name], shapes.get(name)))
        else:
            return False
    outputs = [helper.make_tensor_value_info(o, types.get(o, onnx.TensorProto.FLOAT), None) for o in node.output if o]
    graph = helper.make_graph(
        [onnx.NodeProto.FromString(node.SerializeToString())], "probe", inputs, outputs, node_inits
    )
    one = helper.make_model(graph, opset_imports=list(model.opset_import), ir_version=model.ir_version)
    try:
        convert_nodes(one, [node.name], types, dtype)
        session(one, threads=1, optimization="basic")
    except Exception:
        return False
    return True
