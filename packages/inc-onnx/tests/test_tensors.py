"""Named tensors (capability inputs/outputs, `tensor_values`), fallback groups and core's sensitivity on them."""

from __future__ import annotations

import numpy as np
import pytest

from inc_core import Calibration, OpOption, TuningSpace
from inc_core.measure import cost
from inc_core.measure.ranges import extreme_tensors, ops_touching
from inc_core.measure.sensitivity import op_error, relative_errors
from inc_onnx.model_io import session
from inc_onnx.testing import (
    attention_model,
    cnn_calib,
    cnn_model,
    masked_attention_calib,
    masked_attention_model,
)

CNN = (cnn_model, Calibration(cnn_calib()))
MASKED = (masked_attention_model, Calibration(masked_attention_calib(64)))


def _names(capability) -> list[str]:
    return list(dict.fromkeys(t for op in capability.ops for t in (*op.inputs, *op.outputs)))


def test_capability_names_activation_tensors_and_takes_bias_adds(adaptor) -> None:
    cnn = adaptor.capability(cnn_model())
    ops = {op.name: op for op in cnn.ops}
    assert (ops["conv"].inputs, ops["conv"].outputs) == (("x",), ("c",))  # weights and bias are not activations
    assert cnn.outputs == ("y",)
    masked = {op.name: op for op in adaptor.capability(masked_attention_model()).ops}
    # Add(bias, MatMul(x, W)) as BERT exports write it: the initializer comes first
    assert {"q_bias", "k_bias", "v_bias", "o_bias", "1_bias", "2_bias"} <= set(masked)
    assert masked["q_bias"].inputs == ("q_mm",) and masked["embed"].inputs == ()  # int64 ids are not float
    assert "mask_invert" not in masked  # Sub is not an op ORT quantizes


@pytest.mark.parametrize("case", [CNN, MASKED], ids=["cnn", "masked_attention"])
def test_fp32_tensor_values_are_the_prepared_graph_tensors(adaptor, case) -> None:
    build, calib = case
    model = build()
    names = _names(adaptor.capability(model))
    batches = list(adaptor.tensor_values(model, calib, names, batches=2))
    assert len(batches) == 2 and set(batches[0]) == set(names)
    feed = {k: v[: len(batches[0]["y"])] for k, v in calib.data.items()}
    np.testing.assert_allclose(batches[0]["y"], session(model).run(None, feed)[0], rtol=1e-5, atol=1e-6)
    reference = adaptor._fp32_tensors[1]  # read once per candidate by core's sensitivity: built once
    next(adaptor.tensor_values(model, calib, names, batches=1))
    assert adaptor._fp32_tensors[1] is reference


@pytest.mark.parametrize("kind", ["static", "dynamic", "weight_only", "fp16"])
@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
def test_quantized_tensor_values_keep_the_original_names(adaptor, kind, fmt) -> None:
    build, calib = CNN
    model = build()
    space = TuningSpace(adaptor.capability(model))
    names = _names(space.capability)
    quantized = adaptor.quantize(model, cost.preset(space, kind).replace(recipes={"quant_format": fmt}), calib)
    got = next(adaptor.tensor_values(quantized, calib, names, batches=1))
    errors = relative_errors(adaptor, model, quantized, calib, names, batches=1)
    if fmt == "QOperator" and kind == "static":
        # ORT folds each Relu into its producer: the Relu outputs are read back, their inputs are gone
        assert set(got) == set(names) - {"c", "g"}
    else:
        assert set(got) == set(names)
    assert max(errors.values()) < 0.05, errors  # the same points of the graph, not other tensors
    if kind == "static" and fmt == "QDQ":  # the dequantized value consumers see: a multiple of the scale
        from onnx import numpy_helper

        scale = next(numpy_helper.to_array(i) for i in quantized.graph.initializer if i.name == "x_scale")
        steps = got["x"] / scale
        assert np.allclose(steps, np.round(steps), atol=1e-3) and not np.allclose(got["x"], calib.data["x"][:32])


def _output_error(adaptor, model, calib, space, config) -> float:
    quantized = adaptor.quantize(model, config, calib)
    return relative_errors(adaptor, model, quantized, calib, list(space.capability.outputs), 1)[
        space.capability.outputs[0]
    ]


@pytest.mark.parametrize("case", [CNN, MASKED], ids=["cnn", "masked_attention"])
def test_groups_are_pairs_where_one_alone_changes_nothing(adaptor, case) -> None:
    build, calib = case
    model = build()
    space = TuningSpace(adaptor.capability(model))
    assert space.capability.groups
    default = space.default_config()
    base = _output_error(adaptor, model, calib, space, default)
    for group in space.capability.groups:
        # one member alone (space.with_float would take the whole group)
        alone = [
            _output_error(adaptor, model, calib, space, default.replace({n: OpOption.float("fp32")})) for n in group
        ]
        assert min(abs(e / base - 1) for e in alone) < 0.005, (group, base, alone)


def test_group_pairs(adaptor) -> None:
    assert adaptor.capability(cnn_model()).groups == (("conv", "relu"), ("gemm", "relu_g"))
    assert adaptor.capability(masked_attention_model()).groups == (("mask_add", "softmax"), ("1_bias", "ffn_relu"))
    # a residual Add and its LayerNorm: each alone changes the output error, so they stay apart
    assert adaptor.capability(attention_model()).groups == ()


def test_core_mse_ranks_the_mask_add_softmax_and_outlier_matmul_first(adaptor) -> None:
    build, calib = MASKED
    model = build()
    space = TuningSpace(adaptor.capability(model))
    scores = op_error(adaptor, model, calib, space, space.default_config())
    ranked = sorted(scores, key=lambda name: -scores[name])
    assert set(ranked[:3]) == {"mask_add", "softmax", "2_matmul"}, [(n, scores[n]) for n in ranked[:6]]


def test_mask_tensors_are_found_from_calibration(adaptor) -> None:
    build, calib = MASKED
    model = build()
    space = TuningSpace(adaptor.capability(model))
    extreme = extreme_tensors(adaptor, model, calib, space)
    assert {"ext", "ext3", "masked"} <= set(extreme)
    assert ops_touching(space, extreme) == ["mask_scale", "mask_add", "softmax"]


def test_benchmark_many_uses_the_users_session_settings(tmp_path) -> None:
    from inc_onnx.adaptor import OnnxAdaptor

    adaptor = OnnxAdaptor(threads=2, workdir=tmp_path / "a", warmup=1, repetitions=3)
    build, calib = CNN
    model = build()
    quantized = adaptor.quantize(model, TuningSpace(adaptor.capability(model)).default_config(), calib)
    latencies = adaptor.benchmark_many([model, quantized, model], calib)
    assert len(latencies) == 3 and all(0 < t < 1 for t in latencies)
    assert 0.3 < latencies[0] / latencies[2] < 3  # the same model, timed interleaved
    assert 0 < adaptor.benchmark(model, calib) < 1
    built = adaptor._session(model)
    assert built.get_session_options().intra_op_num_threads == 2
    assert built.get_providers() == ["CPUExecutionProvider"]
    adaptor.close()
