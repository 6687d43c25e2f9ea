"""Capability read from small generated graphs."""

from __future__ import annotations

from inc_core import OpOption, TuningSpace
from inc_onnx.testing import attention_model, cnn_model, no_quantizable_model


def _ops(adaptor, model):
    return {op.name: op for op in adaptor.capability(model).ops}


def test_cnn_ops_and_defaults(adaptor) -> None:
    ops = _ops(adaptor, cnn_model())
    # ORT's pre-processing fuses MatMul + Add into a Gemm that keeps the MatMul's name.
    assert list(ops) == ["conv", "relu", "pool", "gemm", "relu_g", "matmul", "softmax"]
    assert ops["matmul"].type == "Gemm"
    assert "flatten" not in ops  # data movement follows its neighbours instead of being tuned
    for op in ops.values():
        assert op.default.mode == "static" and op.default.dtype == "int8"
        assert op.options[-1] == OpOption.float("fp32")
    conv = ops["conv"].default
    assert conv.get("weight_granularity") == "per_channel" and conv.get("weight_scheme") == "sym"
    assert conv.get("act_scheme") == "asym"


def test_modes_per_op_type(adaptor) -> None:
    ops = _ops(adaptor, cnn_model())
    modes = {name: {o.mode for o in op.options} for name, op in ops.items()}
    assert modes["matmul"] == {"static", "dynamic", "weight_only", "float"}
    assert modes["gemm"] == {"static", "dynamic", "weight_only", "float"}  # through Gemm -> MatMul + Add
    assert modes["conv"] == {"static", "dynamic", "float"}
    assert modes["relu"] == {"static", "float"}
    weight_only = [o for o in ops["gemm"].options if o.mode == "weight_only"]
    assert {o.get("group_size") for o in weight_only} == {32}  # K = 64: 128-wide groups are not offered
    assert {o.get("weight_scheme") for o in weight_only} == {"sym", "asym"}
    assert all(o.dtype == "int4" and o.get("algorithm") == "RTN" for o in weight_only)
    granularity = {o.get("weight_granularity") for o in ops["conv"].options if o.mode == "static"}
    assert granularity == {"per_channel", "per_tensor"}


def test_float_dtypes_are_probed(adaptor) -> None:
    """fp16 is offered where ORT's CPU provider builds the node; bf16 only if it does (it doesn't on x86 CPU)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    ops = _ops(adaptor, cnn_model())
    assert all("fp16" in op.float_dtypes for op in ops.values())
    node = helper.make_node("MatMul", ["a", "b"], ["c"])
    graph = helper.make_graph(
        [node],
        "bf16",
        [helper.make_tensor_value_info(n, TensorProto.BFLOAT16, [2, 2]) for n in "ab"],
        [helper.make_tensor_value_info("c", TensorProto.BFLOAT16, [2, 2])],
    )
    try:
        ort.InferenceSession(helper.make_model(graph).SerializeToString(), providers=["CPUExecutionProvider"])
        bf16_runs = True
    except Exception:
        bf16_runs = False
    assert ("bf16" in ops["matmul"].float_dtypes) is bf16_runs
    assert onnx  # imported for helper


def test_attention_graph(adaptor) -> None:
    ops = _ops(adaptor, attention_model())
    assert {"embed", "q_proj", "scores", "context", "softmax", "residual", "ln"} <= set(ops)
    assert {o.mode for o in ops["embed"].options} == {"static", "float"}
    scores = ops["scores"]  # activation x activation: no weight settings, no dynamic/weight-only
    assert {o.mode for o in scores.options} == {"static", "float"}
    assert all(o.get("weight_granularity") is None for o in scores.options)
    assert {o.get("group_size") for o in ops["q_proj"].options if o.mode == "weight_only"} == {32}


def test_recipes_first_value_is_default(adaptor) -> None:
    cap = adaptor.capability(cnn_model())
    assert cap.framework == "onnxruntime"
    assert cap.recipes["act_algorithm"] == ("minmax", "entropy", "percentile")
    assert cap.recipes["quant_format"][0] == "QDQ"
    assert cap.recipes["calib_sampling_size"][0] == 100
    space = TuningSpace(cap)
    assert space.default_config().recipes["first_conv_or_matmul_quantization"] is True


def test_no_quantizable_node_gives_empty_capability(adaptor) -> None:
    cap = adaptor.capability(no_quantizable_model())
    assert cap.ops == () and cap.recipes == {}


def test_capability_is_cached_per_model(adaptor) -> None:
    model = cnn_model()
    assert adaptor.capability(model) is adaptor.capability(model)
