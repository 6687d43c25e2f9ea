"""Turn a TuneConfig into a quantized ONNX model: a sequence of ORT quantizer passes.

1. Gemms chosen for dynamic or 4-bit are rewritten as MatMul + Add (ORT's dynamic and
   MatMulNBits quantizers only take MatMul).
2. Static: one ``quantize_static`` call (QDQ) reading the cached calibration
   statistics; per-op settings go in as ``nodes_to_quantize`` and
   ``TensorQuantOverrides``. With ``quant_format=QOperator`` the same call in QLinear
   form, where ORT takes weight granularity only for the whole call (per-channel if
   any static op asks for it).
3. Fallback clean-up: ops not quantized statically read the float tensor, not the
   Q/DQ pair ORT put on a quantized neighbour's output; orphaned Q/DQ are removed.
4. Dynamic: ``quantize_dynamic`` per weight granularity on the chosen nodes.
5. Weight-only: ``MatMulNBitsQuantizer`` (RTN) per (group size, scheme).
6. fp16/bf16 nodes: Cast insertion (`inc_onnx.float16`).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from inc_core import ConfigError, OpOption, TuneConfig
from inc_onnx.capability import (
    ACTIVATION_TYPES,
    CONV_OR_MATMUL,
    FOLLOWER_TYPES,
    RECIPES,
    WEIGHTED_TYPES,
    NodeInfo,
)
from inc_onnx.graph import PreparedModel, producers

if TYPE_CHECKING:
    import onnx

logger = logging.getLogger("inc.onnx")

STATIC_CALIBRATION_TYPES = sorted(ACTIVATION_TYPES | WEIGHTED_TYPES | FOLLOWER_TYPES | {"Gather"})


@dataclass
class Plan:
    """Which pass takes each op, and the recipe values, for one config."""

    static: dict[str, OpOption] = field(default_factory=dict)
    dynamic: dict[str, OpOption] = field(default_factory=dict)
    weight_only: dict[str, OpOption] = field(default_factory=dict)
    low_float: dict[str, str] = field(default_factory=dict)  # node -> fp16|bf16
    fp32: list[str] = field(default_factory=list)
    recipes: dict[str, Any] = field(default_factory=dict)

    @property
    def not_static(self) -> set[str]:
        return {*self.dynamic, *self.weight_only, *self.low_float, *self.fp32}


def make_plan(tune_cfg: TuneConfig, op_order: list[tuple[str, str]], infos: dict[str, NodeInfo]) -> Plan:
    """Split ``tune_cfg`` by pass; ``op_order`` is (name, type) of the capability's ops in graph order."""
    known = {name for name, _ in op_order}
    missing = [name for name in known if name not in tune_cfg.ops]
    if missing:
        raise ConfigError(f"tune config has no option for op {missing[0]!r}")
    unknown = [name for name in tune_cfg.ops if name not in known]
    if unknown:
        raise ConfigError(f"tune config names op {unknown[0]!r}, which is not a quantizable node of the model")
    recipes = {name: values[0] for name, values in RECIPES.items()}
    for name, value in tune_cfg.recipes.items():
        if name not in RECIPES:
            raise ConfigError(f"recipes: unknown recipe {name!r}; the ONNX adaptor offers {sorted(RECIPES)}")
        recipes[name] = value
    forced: set[str] = set()
    heavy = [name for name, op_type in op_order if op_type in CONV_OR_MATMUL]
    if heavy and not recipes["first_conv_or_matmul_quantization"]:
        forced.add(heavy[0])
    if heavy and not recipes["last_conv_or_matmul_quantization"]:
        forced.add(heavy[-1])
    plan = Plan(recipes=recipes)
    for name, _ in op_order:
        option = tune_cfg.ops[name]
        if name in forced or option.dtype == "fp32":
            plan.fp32.append(name)
        elif option.is_float:
            plan.low_float[name] = option.dtype
        elif option.mode == "static":
            plan.static[name] = option
        elif option.mode == "dynamic":
            plan.dynamic[name] = option
        elif option.mode == "weight_only":
            plan.weight_only[name] = option
        else:
            raise ConfigError(f"op {name!r}: unsupported option {option}")
    return plan


class _QuietOrt(logging.Filter):
    """Drops ORT quantizer chatter (pre-processing advice, per-node info) below ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or "onnxruntime" not in record.pathname


@contextlib.contextmanager
def quiet_ort() -> Iterator[None]:
    root = logging.getLogger()
    handler_filter = _QuietOrt()
    root.addFilter(handler_filter)
    try:
        yield
    finally:
        root.removeFilter(handler_filter)


# Graph rewrites -------------------------------------------------------------------------
def gemm_to_matmul(model: onnx.ModelProto, names: set[str]) -> None:
    """Rewrite Gemm nodes ``names`` (constant B/C, no transA) as MatMul (same name) + Add, in place."""
    from onnx import helper, numpy_helper

    if not names:
        return
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    new_nodes = []
    for node in graph.node:
        if node.name not in names or node.op_type != "Gemm":
            new_nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        weight = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        if attrs.get("transB", 0):
            weight = weight.T
        weight = np.ascontiguousarray(weight * float(attrs.get("alpha", 1.0)))
        w_name = f"{node.name}_B_matmul"
        graph.initializer.append(numpy_helper.from_array(weight, w_name))
        bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
        out = node.output[0]
        mm_out = f"{out}_matmul" if bias else out
        new_nodes.append(helper.make_node("MatMul", [node.input[0], w_name], [mm_out], name=node.name))
        if bias:
            c = numpy_helper.to_array(inits[bias]).astype(np.float32) * float(attrs.get("beta", 1.0))
            c_name = f"{node.name}_C_add"
            graph.initializer.append(numpy_helper.from_array(c, c_name))
            new_nodes.append(helper.make_node("Add", [mm_out, c_name], [out], name=f"{node.name}_bias"))
    graph.ClearField("node")
    graph.node.extend(new_nodes)
    _drop_unused_initializers(model)


def _drop_unused_initializers(model: onnx.ModelProto) -> None:
    graph = model.graph
    read = {n for node in graph.node for n in node.input} | {o.name for o in graph.output}
    for init in [i for i in graph.initializer if i.name not in read]:
        graph.initializer.remove(init)


def unhook_float_ops(model: onnx.ModelProto, keep: set[str]) -> None:
    """Make nodes ORT did not quantize statically read float tensors instead of Q->DQ pairs.

    ORT puts a Q/DQ pair on a static op's output for all its consumers; a consumer left
    in float (or quantized dynamically / weight-only) should not pay that rounding.
    ``keep``: the static ops and followers, which keep their pairs. Q/DQ nodes nobody
    reads any more are removed. (Removable activations are kept as nodes by the static
    pass, so the tensor a Q reads is the tensor the consumer read before quantization.)
    """
    graph = model.graph
    made_by = producers(model)
    for node in graph.node:
        if node.name in keep or node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            continue
        for i, name in enumerate(node.input):
            dq = made_by.get(name)
            if dq is None or dq.op_type != "DequantizeLinear":
                continue
            q = made_by.get(dq.input[0])
            if q is not None and q.op_type == "QuantizeLinear":
                node.input[i] = q.input[0]
    graph_outputs = {o.name for o in graph.output}
    while True:
        read = {n for node in graph.node for n in node.input} | graph_outputs
        dead = [
            n for n in graph.node
            if n.op_type in ("QuantizeLinear", "DequantizeLinear") and not any(o in read for o in n.output)
        ]  # fmt: skip
        if not dead:
            break
        for n in dead:
            graph.node.remove(n)
    _drop_unused_initializers(model)


# Passes ---------------------------------------------------------------------------------
@dataclass
class PassContext:
    prepared: PreparedModel
    infos: dict[str, NodeInfo]
    workdir: Path
    calibration_cache: Callable[[str, int], Path]  # (method, samples) -> ORT calibration cache file
    large: bool = False
    reduce_range: bool = False  # 7-bit weights (`inc_onnx.hardware`)
    steps: list[str] = field(default_factory=list)


def _run_file_pass(
    ctx: PassContext, model: onnx.ModelProto, name: str, fn: Callable[[Any, str], None]
) -> onnx.ModelProto:
    """Run an ORT quantizer that writes its result to a file; return the loaded result."""
    import onnx

    from inc_onnx.model_io import save_model

    out = ctx.workdir / f"{len(ctx.steps):02d}-{name}.onnx"
    source: Any = model
    if ctx.large:
        source = str(save_model(model, ctx.workdir / f"{len(ctx.steps):02d}-{name}-in.onnx", 0))
    fn(source, str(out))
    ctx.steps.append(name)
    return onnx.load(str(out), load_external_data=True)


def _activation_tensors(node: onnx.NodeProto, inits: dict[str, Any], inputs: bool) -> list[str]:
    names = node.input if inputs else node.output
    return [n for n in names if n and n not in inits]


def static_pass(ctx: PassContext, model: onnx.ModelProto, plan: Plan) -> onnx.ModelProto:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from inc_onnx.calibration import METHODS

    method, samples = plan.recipes["act_algorithm"], int(plan.recipes["calib_sampling_size"])
    cache = ctx.calibration_cache(method, samples)
    calibrate_method = getattr(CalibrationMethod, METHODS[method])
    followers = [n.name for n in model.graph.node if n.op_type in FOLLOWER_TYPES]
    exclude = sorted(plan.not_static)
    nodes = {n.name: n for n in model.graph.node}
    inits = ctx.prepared.initializers
    fmt = plan.recipes["quant_format"]
    if fmt not in ("QDQ", "QOperator"):
        raise ConfigError(f"recipe quant_format: {fmt!r} is not QDQ or QOperator")

    def run(names: list[str], per_channel: bool, act_sym: bool, extra: dict[str, Any], qformat: Any) -> Any:
        def call(source: Any, out: str) -> None:
            quantize_static(
                source,
                out,
                None,
                quant_format=qformat,
                op_types_to_quantize=STATIC_CALIBRATION_TYPES,
                per_channel=per_channel,
                reduce_range=ctx.reduce_range,
                activation_type=QuantType.QInt8 if act_sym else QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                nodes_to_quantize=names,
                nodes_to_exclude=exclude,
                use_external_data_format=ctx.large,
                calibrate_method=calibrate_method,
                extra_options=extra,
                calibration_cache_path=cache,
            )

        return call

    overrides: dict[str, list[dict[str, Any]]] = {}
    act_choice: dict[str, bool] = {}
    for inputs in (True, False):  # an op's inputs decide before its producer's output setting
        for name, option in plan.static.items():
            for tensor in _activation_tensors(nodes[name], inits, inputs):
                act_choice.setdefault(tensor, option.get("act_scheme") == "sym")
    for tensor, sym in act_choice.items():
        if sym:
            overrides[tensor] = [{"quant_type": QuantType.QInt8, "symmetric": True}]
    for name, option in plan.static.items():
        info = ctx.infos[name]
        if info.kind == "weighted" and info.weight and option.get("weight_granularity") == "per_tensor":
            overrides[info.weight] = [{"symmetric": option.get("weight_scheme") == "sym"}]
    extra: dict[str, Any] = {"TensorQuantOverrides": overrides, "WeightSymmetric": True}
    names = sorted(plan.static) + followers
    if fmt == "QDQ":
        extra["AddQDQPairToWeight"] = bool(plan.recipes["add_qdq_pair_to_weight"])
        # Keep Relu/Clip as nodes (ORT's session optimizer still fuses them into Q): removing
        # them renames tensors and would make a float consumer read pre-activation values.
        extra["QDQKeepRemovableActivations"] = True
        model = _run_file_pass(ctx, model, "static-qdq", run(names, True, False, extra, QuantFormat.QDQ))
        unhook_float_ops(model, set(plan.static) | set(followers))
        return model
    # QOperator: ORT's QLinear quantizer takes weight granularity and the activation type once per
    # call (its QLinear kernels need one activation type on all inputs and outputs, and per-channel
    # for one weight means per-channel for all): per-channel if any static op asks for it, int8
    # activations only if every static op asks for them. Other settings build their QDQ equivalent.
    per_channel = any(o.get("weight_granularity") == "per_channel" for o in plan.static.values())
    act_sym = all(o.get("act_scheme") == "sym" for o in plan.static.values())
    weights = {} if per_channel else {k: v for k, v in overrides.items() if k in inits}
    extra = {"TensorQuantOverrides": weights, "WeightSymmetric": True}
    return _run_file_pass(ctx, model, "static-qop", run(names, per_channel, act_sym, extra, QuantFormat.QOperator))


def free_dynamic_names(model: onnx.ModelProto, plan: Plan) -> None:
    """Rename tensors the dynamic pass is about to create (``<input>_quantized``/``_scale``/``_zero_point``).

    After a QOperator static pass those names may exist already (the static quantizer names its
    tensors the same way), and reusing them breaks single static assignment.
    """
    nodes = {n.name: n for n in model.graph.node}
    inputs = {nodes[name].input[0] for name in plan.dynamic if name in nodes and nodes[name].input}
    taken = {o for n in model.graph.node for o in n.output} | {i.name for i in model.graph.initializer}
    renames = {
        f"{t}{suffix}": f"{t}{suffix}_static"
        for t in inputs
        for suffix in ("_quantized", "_scale", "_zero_point")
        if f"{t}{suffix}" in taken
    }
    if not renames:
        return
    for node in model.graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]
    for init in model.graph.initializer:
        init.name = renames.get(init.name, init.name)
    for info in [*model.graph.output, *model.graph.value_info]:
        info.name = renames.get(info.name, info.name)


def dynamic_pass(ctx: PassContext, model: onnx.ModelProto, plan: Plan) -> onnx.ModelProto:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    groups: dict[bool, list[str]] = {}
    for name, option in plan.dynamic.items():
        groups.setdefault(option.get("weight_granularity") == "per_channel", []).append(name)
    for per_channel, names in sorted(groups.items()):

        def call(source: Any, out: str, names: list[str] = names, per_channel: bool = per_channel) -> None:
            quantize_dynamic(
                source,
                out,
                per_channel=per_channel,
                reduce_range=ctx.reduce_range,
                weight_type=QuantType.QInt8,
                nodes_to_quantize=sorted(names),
                use_external_data_format=ctx.large,
                extra_options={"MatMulConstBOnly": True},
            )

        model = _run_file_pass(ctx, model, f"dynamic-{'pc' if per_channel else 'pt'}", call)
    return model


def weight_only_pass(ctx: PassContext, model: onnx.ModelProto, plan: Plan) -> onnx.ModelProto:
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    groups: dict[tuple[int, bool], list[str]] = {}
    for name, option in plan.weight_only.items():
        if option.get("algorithm", "RTN") != "RTN":
            raise ConfigError(f"op {name!r}: weight-only algorithm {option.get('algorithm')!r} is not supported (RTN)")
        groups.setdefault((int(option.get("group_size", 32)), option.get("weight_scheme") == "sym"), []).append(name)
    for (group_size, sym), names in sorted(groups.items()):
        chosen = set(names)
        others = [n.name for n in model.graph.node if n.name not in chosen]
        quantizer = MatMulNBitsQuantizer(
            model,
            bits=4,
            block_size=group_size,
            is_symmetric=sym,
            nodes_to_exclude=others,
            op_types_to_quantize=("MatMul",),
        )
        quantizer.process()
        model = quantizer.model.model
        ctx.steps.append(f"weight-only-{group_size}-{'sym' if sym else 'asym'}")
    return model


def quantize_prepared(ctx: PassContext, tune_cfg: TuneConfig, op_order: list[tuple[str, str]]) -> onnx.ModelProto:
    """The quantized model for ``tune_cfg`` (a new ModelProto; the prepared model is untouched)."""
    import copy

    import onnx

    from inc_onnx.float16 import convert_nodes

    plan = make_plan(tune_cfg, op_order, ctx.infos)
    model = copy.deepcopy(ctx.prepared.model)
    with quiet_ort():
        rewrite = {n for n in (*plan.dynamic, *plan.weight_only) if ctx.infos[n].gemm_as_matmul}
        gemm_to_matmul(model, rewrite)
        if plan.static:  # first: calibration statistics name the tensors of this graph
            model = static_pass(ctx, model, plan)
        if plan.dynamic:
            free_dynamic_names(model, plan)
            model = dynamic_pass(ctx, model, plan)
        if plan.weight_only:
            model = weight_only_pass(ctx, model, plan)
    for dtype in ("fp16", "bf16"):
        names = [n for n, d in plan.low_float.items() if d == dtype]
        if names:
            convert_nodes(model, names, ctx.prepared.types, dtype)
            ctx.steps.append(dtype)
    entry = model.metadata_props.add()
    entry.key, entry.value = "inc.tune_config", tune_cfg.to_json()
    if ctx.large:
        from inc_onnx.model_io import save_model

        onnx.checker.check_model(str(save_model(model, ctx.workdir / "checked.onnx", 0)))
    else:
        onnx.checker.check_model(model)
    return model


def new_workdir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="trial-", dir=root))
