"""What ONNX Runtime can do with each node of a graph: the ops and options of the tuning space.

Per-op options are only those ORT can apply to one node: which quantizer pass takes
the node (static QDQ, dynamic, 4-bit weight-only, float) via ``nodes_to_quantize`` /
``nodes_to_exclude``, and per-tensor settings via ``TensorQuantOverrides``
(weight granularity and scheme, activation scheme). Settings ORT takes once per
quantize call are recipes.

Option params (the contract's names):
``weight_granularity`` per_channel|per_tensor, ``weight_scheme`` sym|asym,
``act_scheme`` sym (int8 activations) | asym (uint8 activations), ``group_size`` and
``algorithm`` (RTN) for 4-bit weight-only MatMulNBits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inc_core import Capability, OpOption, OpSpec
from inc_onnx.graph import PreparedModel, consumers
from inc_onnx.model_io import opset

if TYPE_CHECKING:
    import onnx

logger = logging.getLogger("inc.onnx")

# Nodes whose weight (input 1, or input 0 for Gather) is a constant.
WEIGHTED_TYPES = frozenset({"Conv", "ConvTranspose", "MatMul", "Gemm"})
# Quantized statically on their activations only (ORT's QDQ/QLinear registries).
ACTIVATION_TYPES = frozenset(
    {
        "Add", "Mul", "Relu", "Clip", "LeakyRelu", "Sigmoid", "MaxPool", "AveragePool", "GlobalAveragePool",
        "Concat", "Softmax", "Resize", "Pad", "Split", "Where", "LayerNormalization", "InstanceNormalization",
        "BatchNormalization",
    }
)  # fmt: skip
# Only ever dynamic in ORT (IntegerOps registry, no static kernel).
DYNAMIC_ONLY_TYPES = frozenset({"Attention", "LSTM", "EmbedLayerNormalization"})
# Data-movement ops ORT quantizes only when their input already is; they follow their neighbours.
FOLLOWER_TYPES = frozenset({"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Slice"})
CONV_OR_MATMUL = frozenset({"Conv", "ConvTranspose", "MatMul", "Gemm"})

CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
RECIPES: dict[str, tuple[Any, ...]] = {
    "act_algorithm": CALIBRATION_METHODS,
    "calib_sampling_size": (100, 300),
    "quant_format": ("QDQ", "QOperator"),
    "first_conv_or_matmul_quantization": (True, False),
    "last_conv_or_matmul_quantization": (True, False),
    "add_qdq_pair_to_weight": (False, True),
}
"""Whole-call settings (first value = default): calibration method and sample count, ORT's
quant_format, whether the first/last Conv/MatMul/Gemm may be quantized at all, and
ORT's AddQDQPairToWeight (keep float weights with a Q/DQ pair)."""
WEIGHT_ONLY_GROUP_SIZES = (32, 128)


def static_weight_options(per_channel: bool) -> list[OpOption]:
    options = []
    if per_channel:
        options.append(_static(weight_granularity="per_channel", weight_scheme="sym", act_scheme="asym"))
    options += [
        _static(weight_granularity="per_tensor", weight_scheme="sym", act_scheme="asym"),
        _static(weight_granularity="per_tensor", weight_scheme="asym", act_scheme="asym"),
    ]
    if per_channel:
        options.append(_static(weight_granularity="per_channel", weight_scheme="sym", act_scheme="sym"))
    options.append(_static(weight_granularity="per_tensor", weight_scheme="sym", act_scheme="sym"))
    return options


def _static(**params: Any) -> OpOption:
    return OpOption("int8", "static", params)


def activation_options() -> list[OpOption]:
    return [_static(act_scheme="asym"), _static(act_scheme="sym")]


def dynamic_options(per_channel: bool) -> list[OpOption]:
    options = [OpOption("int8", "dynamic", {"weight_granularity": "per_tensor", "weight_scheme": "sym"})]
    if per_channel:
        options.append(OpOption("int8", "dynamic", {"weight_granularity": "per_channel", "weight_scheme": "sym"}))
    return options


def weight_only_options(k: int) -> list[OpOption]:
    sizes = [g for g in WEIGHT_ONLY_GROUP_SIZES if g <= max(k, WEIGHT_ONLY_GROUP_SIZES[0])]
    return [
        OpOption("int4", "weight_only", {"algorithm": "RTN", "group_size": g, "weight_scheme": scheme})
        for scheme in ("sym", "asym")
        for g in sizes
    ]


@dataclass(frozen=True)
class NodeInfo:
    """Why a node is in the space: its kind and the facts its options depend on."""

    kind: str  # weighted | act_matmul | activation | gather | dynamic_only
    weight: str | None = None
    k: int = 0  # reduction size of a 2-D weight (MatMulNBits group sizes)
    gemm_as_matmul: bool = False  # a Gemm ORT's dynamic/4-bit quantizers reach once rewritten to MatMul+Add


def gemm_convertible(node: onnx.NodeProto, prepared: PreparedModel) -> bool:
    """Gemm(A, B, C) with constant B and C, no transA: expressible as MatMul(A, B') + C."""
    attrs = {a.name: a for a in node.attribute}
    if "transA" in attrs and attrs["transA"].i:
        return False
    inits = prepared.initializers
    if node.input[1] not in inits or len(inits[node.input[1]].dims) != 2:
        return False
    return len(node.input) < 3 or not node.input[2] or node.input[2] in inits


def classify(node: onnx.NodeProto, prepared: PreparedModel) -> NodeInfo | None:
    """The node's kind in the space, or None if ORT cannot quantize it."""
    import onnx

    inits = prepared.initializers
    float_types = (onnx.TensorProto.FLOAT,)
    op = node.op_type
    if node.domain not in ("", "ai.onnx", "com.microsoft"):
        return None
    first = node.input[0] if node.input else ""
    if op != "Gather" and all(not n or n in inits for n in node.input):
        return None  # constant subgraph
    if op in WEIGHTED_TYPES:
        if (
            first in inits
            or len(node.input) < 2
            or prepared.types.get(first, onnx.TensorProto.FLOAT) not in float_types
        ):
            return None
        weight = node.input[1]
        if weight not in inits:
            return NodeInfo("act_matmul") if op == "MatMul" else None
        if inits[weight].data_type not in float_types:
            return None
        dims = list(inits[weight].dims)
        k = 0
        if op == "MatMul" and len(dims) == 2:
            k = dims[0]
        if op == "Gemm" and gemm_convertible(node, prepared):
            trans_b = any(a.name == "transB" and a.i for a in node.attribute)
            k = dims[1] if trans_b else dims[0]
        return NodeInfo("weighted", weight, k, gemm_as_matmul=op == "Gemm" and k > 0)
    if op == "Gather":
        if first in inits and inits[first].data_type in float_types:
            return NodeInfo("gather", first)
        return None
    if op in DYNAMIC_ONLY_TYPES:
        return NodeInfo("dynamic_only", node.input[1] if len(node.input) > 1 else None)
    if op in ACTIVATION_TYPES:
        floats = [n for n in node.input if n and n not in inits]
        if floats and all(prepared.types.get(n) in float_types for n in floats):
            return NodeInfo("activation")
    return None


def node_options(
    node: onnx.NodeProto, info: NodeInfo, prepared: PreparedModel, floats: tuple[str, ...]
) -> list[OpOption]:
    op = node.op_type
    options: list[OpOption] = []
    if info.kind == "weighted":
        rank = len(prepared.initializers[info.weight].dims) if info.weight else 0
        options += static_weight_options(per_channel=rank >= 2)
        if op in ("MatMul", "Conv") or info.gemm_as_matmul:
            options += dynamic_options(per_channel=rank >= 2)
        if info.k:
            options += weight_only_options(info.k)
    elif info.kind == "act_matmul" or info.kind == "activation":
        options += activation_options()
    elif info.kind == "gather":
        # No dynamic option: ORT's dynamic Gather quantizer fails once its output feeds static Q/DQ.
        options += activation_options()
    elif info.kind == "dynamic_only":
        options += dynamic_options(per_channel=False)
    options += [OpOption.float(d) for d in floats]
    options.append(OpOption.float("fp32"))
    return options


class FloatSupport:
    """Which op types ORT's CPU provider builds a session for in fp16/bf16 (probed once per op type)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, int, str], bool] = {}

    def dtypes(self, node: onnx.NodeProto, prepared: PreparedModel) -> tuple[str, ...]:
        from inc_onnx.float16 import probe

        result = []
        for dtype in ("bf16", "fp16"):
            key = (node.domain, node.op_type, opset(prepared.model), dtype)
            if key not in self._cache:
                self._cache[key] = probe(node, prepared.model, prepared.types, prepared.shapes, dtype)
                logger.debug("ORT CPU %s %s: %s", node.op_type, dtype, "runs" if self._cache[key] else "cannot run")
            if self._cache[key]:
                result.append(dtype)
        return tuple(result)


def build_capability(prepared: PreparedModel, float_support: FloatSupport) -> tuple[Capability, dict[str, NodeInfo]]:
    """The capability of ``prepared`` and the per-node facts quantization passes need."""
    ops: list[OpSpec] = []
    infos: dict[str, NodeInfo] = {}
    users = consumers(prepared.model)
    graph_outputs = {o.name for o in prepared.model.graph.output}
    for node in prepared.model.graph.node:
        info = classify(node, prepared)
        if info is None:
            continue
        if not any(users.get(o) or o in graph_outputs for o in node.output):
            continue  # dead node
        floats = float_support.dtypes(node, prepared)
        options = tuple(node_options(node, info, prepared, floats))
        inputs, outputs = activations(node, prepared)
        ops.append(OpSpec(node.name, node.op_type, options, inputs, outputs))
        infos[node.name] = info
    recipes: dict[str, tuple[Any, ...]] = dict(RECIPES) if ops else {}
    outputs = tuple(o.name for o in prepared.model.graph.output)
    groups = fallback_groups(ops, prepared)
    return Capability(tuple(ops), recipes, framework="onnxruntime", groups=groups, outputs=outputs), infos


PASSIVE_AFTER = {"Relu": None, "Clip": None, "Softmax": "Add"}
"""Consumer type -> producer type (None: any) of pairs where ORT's QDQ quantizes the tensor between
them for the consumer anyway, so that one of them falling back alone changes nothing (measured on
the test graphs, `test_capability.py::test_groups_are_pairs_where_one_alone_changes_nothing`):

- Relu/Clip: ORT quantizes their input with their output's range; in fp32 alone they recompute
  the same clipping of the same dequantized tensor (output error x1.000 on the three cases).
- Add -> Softmax (the attention-mask Add): the Softmax quantizes the Add's output, whose range
  (the -3.4e38 mask) is what hurts; the Add alone in fp32 leaves it quantized (x1.000).

A residual Add feeding a LayerNormalization does *not* qualify: each alone changes the output
error (x0.965 and x0.775 on `attention_model`), so they stay separate units."""


def fallback_groups(ops: list[OpSpec], prepared: PreparedModel) -> tuple[tuple[str, ...], ...]:
    """Disjoint (producer, consumer) pairs of `PASSIVE_AFTER` joined by a tensor nothing else reads."""
    by_output = {t: op for op in ops for t in op.outputs}
    users = consumers(prepared.model)
    graph_outputs = {o.name for o in prepared.model.graph.output}
    groups: list[tuple[str, str]] = []
    grouped: set[str] = set()
    for op in ops:
        if op.type not in PASSIVE_AFTER or len(op.inputs) != 1:
            continue
        tensor = op.inputs[0]
        producer = by_output.get(tensor)
        wanted = PASSIVE_AFTER[op.type]
        if producer is None or (wanted is not None and producer.type != wanted):
            continue
        if len(users.get(tensor, [])) != 1 or tensor in graph_outputs or {producer.name, op.name} & grouped:
            continue
        groups.append((producer.name, op.name))
        grouped |= {producer.name, op.name}
    return tuple(groups)


def activations(node: onnx.NodeProto, prepared: PreparedModel) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The float activation tensors ``node`` reads and writes (initializers and integer tensors left out)."""
    import onnx

    inits = prepared.initializers

    def floats(names: Any) -> tuple[str, ...]:
        return tuple(n for n in names if n and n not in inits and prepared.types.get(n) == onnx.TensorProto.FLOAT)

    return floats(node.input), floats(node.output)
