"""Quantizing TuneConfigs with real ONNX Runtime passes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnxruntime.quantization import CalibrationDataReader

from inc_core import AdaptorError, Calibration, ConfigError, NotSupportedError, OpOption, TuningSpace
from inc_onnx.model_io import session
from inc_onnx.testing import attention_calib, attention_model, cnn_calib, cnn_model

CNN_CALIB = Calibration(cnn_calib())
ATT_CALIB = Calibration(attention_calib())


def run(model, feed):
    return session(model).run(None, feed)[0]


def node(model: onnx.ModelProto, name: str) -> onnx.NodeProto:
    return next(n for n in model.graph.node if n.name == name)


def made_by(model: onnx.ModelProto) -> dict[str, onnx.NodeProto]:
    return {o: n for n in model.graph.node for o in n.output}


@pytest.mark.parametrize(("build", "calib"), [(cnn_model, CNN_CALIB), (attention_model, ATT_CALIB)])
def test_every_option_gives_a_valid_runnable_model(adaptor, build, calib) -> None:
    model = build()
    space = TuningSpace(adaptor.capability(model))
    feed = {k: v[:4] for k, v in calib.data.items()}
    reference = run(model, feed)
    failures = []
    for op in space.ops:
        for option in op.options:
            try:
                quantized = adaptor.quantize(model, space.config(ops={op.name: option}), calib)
                onnx.checker.check_model(quantized)
                out = run(quantized, feed)
                assert out.shape == reference.shape and np.isfinite(out).all()
            except Exception as exc:  # collect every failure, not just the first
                failures.append(f"{op.name} {option}: {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("recipe", ["act_algorithm", "calib_sampling_size", "quant_format",
                                    "first_conv_or_matmul_quantization", "last_conv_or_matmul_quantization",
                                    "add_qdq_pair_to_weight"])  # fmt: skip
def test_every_recipe_value_gives_a_runnable_model(adaptor, recipe) -> None:
    model = cnn_model()
    space = TuningSpace(adaptor.capability(model))
    feed = {"x": CNN_CALIB.data["x"][:4]}
    reference = run(model, feed)
    for value in space.recipes[recipe]:
        quantized = adaptor.quantize(model, space.default_config().replace(recipes={recipe: value}), CNN_CALIB)
        onnx.checker.check_model(quantized)
        assert np.abs(run(quantized, feed) - reference).max() < 0.1, (recipe, value)


def test_default_config_is_static_qdq_close_to_fp32(adaptor) -> None:
    model = cnn_model()
    quantized = adaptor.quantize(model, TuningSpace(adaptor.capability(model)).default_config(), CNN_CALIB)
    types = {n.op_type for n in quantized.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= types
    feed = {"x": CNN_CALIB.data["x"][:8]}
    assert np.abs(run(quantized, feed) - run(model, feed)).max() < 0.05


def test_fused_int8_kernels_compute_what_the_qdq_graph_says(tmp_path: Path) -> None:
    """ORT's fused u8s8 kernels saturate on x86 without VNNI unless weights are 7-bit (`inc_onnx.hardware`)."""
    from inc_onnx.adaptor import OnnxAdaptor
    from inc_onnx.hardware import int8_pairs_saturate

    model = cnn_model()
    feed = {"x": CNN_CALIB.data["x"][:8]}
    gaps = {}
    for reduce_range in (None, False):
        adaptor = OnnxAdaptor(workdir=tmp_path / str(reduce_range), reduce_range=reduce_range)
        quantized = adaptor.quantize(model, TuningSpace(adaptor.capability(model)).default_config(), CNN_CALIB)
        fused = session(quantized).run(None, feed)[0]
        as_written = session(quantized, optimization="none").run(None, feed)[0]
        gaps[reduce_range] = float(np.abs(fused - as_written).max())
        adaptor.close()
    assert gaps[None] < 0.01, gaps
    if int8_pairs_saturate():  # this CPU's kernels overflow 8-bit weights: the default must have avoided it
        assert gaps[False] > 2 * gaps[None], gaps


@pytest.mark.parametrize("fallback", ["conv", "relu", "pool", "gemm", "relu_g", "matmul", "softmax"])
def test_fp32_fallback_leaves_the_node_without_qdq(adaptor, fallback) -> None:
    model = cnn_model()
    space = TuningSpace(adaptor.capability(model))
    unit = next(u for u in space.units([fallback]))  # a grouped op falls back with its partner
    quantized = adaptor.quantize(model, space.with_float(space.default_config(), [fallback]), CNN_CALIB)
    producers = made_by(quantized)
    inits = {i.name: i for i in quantized.graph.initializer}
    for name in unit:
        target = node(quantized, name)
        assert target.op_type == node(model, name).op_type or name == "matmul"
        for tensor in target.input:
            assert producers.get(tensor) is None or producers[tensor].op_type != "DequantizeLinear", (name, tensor)
            if tensor in inits:
                assert inits[tensor].data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.INT64)
    others = [op.name for op in space.ops if op.name not in unit and op.type in ("Conv", "Gemm")]
    assert any(producers[i].op_type == "DequantizeLinear" for o in others for i in node(quantized, o).input[:1])


def test_mixed_static_dynamic_weight_only_fp16_in_one_config(adaptor) -> None:
    model = cnn_model()
    space = TuningSpace(adaptor.capability(model))

    def pick(name: str, mode: str) -> OpOption:
        return next(o for o in space.op(name).options if o.mode == mode)

    config = space.config(
        ops={
            "gemm": pick("gemm", "dynamic"),
            "matmul": pick("matmul", "weight_only"),
            "relu_g": OpOption.float("fp16"),
            "pool": OpOption.float("fp32"),
        }
    )
    quantized = adaptor.quantize(model, config, CNN_CALIB)
    onnx.checker.check_model(quantized)
    types = [n.op_type for n in quantized.graph.node]
    assert "QuantizeLinear" in types  # static conv
    assert "DynamicQuantizeLinear" in types or "MatMulInteger" in types  # dynamic gemm (as MatMul)
    assert "MatMulNBits" in types  # 4-bit matmul
    relu_g = node(quantized, "relu_g")
    cast_in = made_by(quantized)[relu_g.input[0]]
    assert cast_in.op_type == "Cast" and cast_in.attribute[0].i == onnx.TensorProto.FLOAT16
    feed = {"x": CNN_CALIB.data["x"][:8]}
    assert np.abs(run(quantized, feed) - run(model, feed)).max() < 0.1


def test_calibration_runs_once_per_setting_across_trials(adaptor) -> None:
    model = cnn_model()
    space = TuningSpace(adaptor.capability(model))
    base = space.default_config()
    configs = [base] + [space.with_float(base, [op.name]) for op in space.ops]
    for config in configs:
        adaptor.quantize(model, config, CNN_CALIB)
    assert adaptor.quantize_calls == len(configs) > 5
    assert adaptor.calibration_count == 1
    adaptor.quantize(model, base.replace(recipes={"act_algorithm": "entropy"}), CNN_CALIB)
    adaptor.quantize(model, base.replace(recipes={"act_algorithm": "entropy"}), CNN_CALIB)
    assert adaptor.calibration_count == 2
    all_float = space.with_float(base, [op.name for op in space.ops])
    adaptor.quantize(model, all_float.replace(recipes={"calib_sampling_size": 300}), CNN_CALIB)
    assert adaptor.calibration_count == 2  # nothing static: no statistics needed


def test_each_calibration_method_gives_its_own_scales(adaptor) -> None:
    """ORT's entropy calibrator with its default bins returns the minmax range; ours must not."""
    model = cnn_model()
    base = TuningSpace(adaptor.capability(model)).default_config()

    def scales(method: str) -> list[float]:
        quantized = adaptor.quantize(model, base.replace(recipes={"act_algorithm": method}), CNN_CALIB)
        q_nodes = [n for n in quantized.graph.node if n.op_type == "QuantizeLinear"]
        inits = {i.name: onnx.numpy_helper.to_array(i) for i in quantized.graph.initializer}
        return [float(inits[n.input[1]].max()) for n in q_nodes if n.input[1] in inits]

    minmax, entropy, percentile = scales("minmax"), scales("entropy"), scales("percentile")
    assert minmax != entropy and minmax != percentile and entropy != percentile
    assert sum(entropy) < sum(minmax)  # entropy clips the tails minmax keeps


class _Reader(CalibrationDataReader):
    def __init__(self, batches):
        self.batches, self.i = batches, 0

    def get_next(self):
        self.i += 1
        return self.batches[self.i - 1] if self.i <= len(self.batches) else None


def test_calibration_forms_agree(tmp_path: Path) -> None:
    from inc_onnx.adaptor import OnnxAdaptor

    data = cnn_calib(64)
    np.savez(tmp_path / "calib.npz", **data)
    batches = [{"x": data["x"][i : i + 32]} for i in range(0, 64, 32)]
    forms = [data, str(tmp_path / "calib.npz"), batches, iter(batches), _Reader(batches)]
    model = cnn_model()
    feed = {"x": data["x"][:8]}
    outputs = []
    for form in forms:
        adaptor = OnnxAdaptor(workdir=tmp_path / f"a{len(outputs)}")
        config = TuningSpace(adaptor.capability(model)).default_config()
        outputs.append(run(adaptor.quantize(model, config, Calibration(form)), feed))
        adaptor.close()
    for out in outputs[1:]:
        np.testing.assert_allclose(out, outputs[0], atol=1e-6)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"image": np.zeros((4, 1, 8, 8), np.float32)}, r"no data for model input 'x'.*float32 of rank 4"),
        ({"x": np.zeros((4, 1, 8, 8), np.float32), "y": np.zeros(4)}, r"'y' is not an input of the model"),
        ({"x": np.zeros((4, 1, 8, 8), np.float64)}, r"input 'x' has dtype float64, the model expects float32"),
        ({"x": np.zeros((4, 64), np.float32)}, r"input 'x' has rank 2 .*expects float32 of rank 4"),
        ({"x": np.zeros((4, 1, 8, 9), np.float32)}, r"input 'x' has size 9 on axis 3"),
        ([np.zeros((4, 1, 8, 8), np.float32)], r"batch 0 is a ndarray"),
        (None, r"needs calibration data"),
        ("calib.txt", r"expected an .npz file"),
    ],
)
def test_calibration_mismatch_names_the_input(adaptor, data, message) -> None:
    model = cnn_model()
    config = TuningSpace(adaptor.capability(model)).default_config()
    with pytest.raises(ConfigError, match=message):
        adaptor.quantize(model, config, Calibration(data))


def test_load_errors_name_file_and_cause(adaptor, tmp_path: Path) -> None:
    with pytest.raises(AdaptorError, match=r"missing\.onnx does not exist"):
        adaptor.load(tmp_path / "missing.onnx")
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a protobuf\n" * 20)
    with pytest.raises(AdaptorError, match=r"notes\.onnx is not (a readable ONNX model|an ONNX model)"):
        adaptor.load(text)
    bad = cnn_model()
    bad.graph.node[1].op_type = "NoSuchOp"
    onnx.save(bad, tmp_path / "bad.onnx")
    with pytest.raises(AdaptorError, match=r"ONNX Runtime cannot load .*bad\.onnx.*NoSuchOp"):
        adaptor.load(tmp_path / "bad.onnx")


def test_save_load_round_trip_and_size(adaptor, tmp_path: Path) -> None:
    model = cnn_model()
    quantized = adaptor.quantize(model, TuningSpace(adaptor.capability(model)).default_config(), CNN_CALIB)
    path = adaptor.save(quantized, tmp_path / "out" / "best_model")
    assert path == tmp_path / "out" / "best_model.onnx" and path.is_file()
    loaded = adaptor.load(path)
    assert adaptor.model_size(quantized) == len(quantized.SerializeToString()) == path.stat().st_size
    assert adaptor.model_size(quantized) < adaptor.model_size(model)
    feed = {"x": CNN_CALIB.data["x"][:4]}
    np.testing.assert_allclose(run(loaded, feed), run(quantized, feed))


def test_large_models_use_external_data(tmp_path: Path) -> None:
    from inc_onnx.adaptor import OnnxAdaptor

    adaptor = OnnxAdaptor(external_data_threshold=2_000, workdir=tmp_path / "work")
    model = cnn_model()
    space = TuningSpace(adaptor.capability(model))
    quantized = adaptor.quantize(model, space.default_config(), CNN_CALIB)
    path = adaptor.save(quantized, tmp_path / "big")
    assert (tmp_path / "big.onnx.data").is_file()
    assert path.stat().st_size < adaptor.model_size(quantized)
    feed = {"x": CNN_CALIB.data["x"][:4]}
    np.testing.assert_allclose(run(path, feed), run(quantized, feed))
    adaptor.close()


def test_is_large_counts_tensors_held_by_nodes_and_subgraphs(monkeypatch) -> None:
    from onnx import TensorProto, helper, numpy_helper

    from inc_onnx import model_io

    def constant(name: str, size: int) -> onnx.NodeProto:
        return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.ones(size, np.float32), name))

    branch = helper.make_graph([constant("b", 300_000)], "branch", [], [helper.make_tensor_value_info("b", 1, None)])
    other = helper.make_graph([constant("c", 10)], "other", [], [helper.make_tensor_value_info("c", 1, None)])
    nodes = [
        constant("a", 200_000),
        helper.make_node("If", ["flag"], ["y"], then_branch=branch, else_branch=other),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("flag", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", 1, None)],
        initializer=[numpy_helper.from_array(np.ones(100_000, np.float32), "w")],
    )  # fmt: skip
    model = helper.make_model(graph)
    exact = model.ByteSize()  # 2.4 MB of tensors: 0.4 in an initializer, 0.8 in a Constant, 1.2 in a branch
    for threshold in (exact - 1, exact, 1_000_000, exact + 2**20):
        assert model_io.is_large(model, threshold) == (exact > threshold), threshold
    monkeypatch.setattr(model_io, "NON_TENSOR_ALLOWANCE", 0)  # decided from the tensors alone
    assert model_io.is_large(model, 2_399_000)  # only with the Constant's and the branch's tensors counted
    assert not model_io.is_large(model, exact)


def test_quantize_leaves_the_input_model_unchanged(adaptor) -> None:
    model = cnn_model()
    before = model.SerializeToString()
    adaptor.quantize(model, TuningSpace(adaptor.capability(model)).default_config(), CNN_CALIB)
    assert model.SerializeToString() == before


def test_benchmark_and_sensitivity(adaptor) -> None:
    model = cnn_model()
    space = TuningSpace(adaptor.capability(model))
    latency = adaptor.benchmark(model, CNN_CALIB)
    assert 0 < latency < 1
    names = [op.name for op in space.ops]
    mse = adaptor.op_sensitivity(model, space.default_config(), CNN_CALIB, "mse")  # core's definition
    assert set(mse) == set(names) and all(v >= 0 for v in mse.values())
    assert any(v > 0 for v in mse.values())
    partial = adaptor.op_sensitivity(model, space.default_config(), CNN_CALIB, "mse_v2", ["conv", "gemm"])
    assert set(partial) >= {"conv", "gemm"}  # with their fallback partners (relu, relu_g)
    with pytest.raises(NotSupportedError, match="hawq_v2"):
        adaptor.op_sensitivity(model, space.default_config(), CNN_CALIB, "hawq_v2")
    with pytest.raises(NotSupportedError, match="'nope'"):
        adaptor.op_sensitivity(model, space.default_config(), CNN_CALIB, "nope")


def test_config_errors(adaptor) -> None:
    model = cnn_model()
    space = TuningSpace(adaptor.capability(model))
    config = space.default_config()
    with pytest.raises(ConfigError, match="no option for op 'conv'"):
        adaptor.quantize(model, type(config)({k: v for k, v in config.ops.items() if k != "conv"}), CNN_CALIB)
    with pytest.raises(ConfigError, match="unknown recipe 'bogus'"):
        adaptor.quantize(model, config.replace(recipes={"bogus": 1}), CNN_CALIB)
