"""Quantizing with real torch/torchao: every option runs, fallback stays fp32, caches are exact."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inc_core import AdaptorError, Calibration, ConfigError, OpOption, TuneConfig
from inc_torch.adaptor import TorchAdaptor
from inc_torch.testing import TinyEmbedding, TinyNet, batches, seeded

QDQ = {"quantize_per_tensor", "dequantize_per_tensor", "quantize_per_channel", "dequantize_per_channel"}


def _all_float(adaptor, model, dtype: str = "fp32") -> TuneConfig:
    cap = adaptor.capability(model)
    return TuneConfig({op.name: OpOption.float(dtype) for op in cap.ops}, {"act_algorithm": "histogram"})


def _default(adaptor, model) -> TuneConfig:
    cap = adaptor.capability(model)
    return TuneConfig({op.name: op.options[0] for op in cap.ops}, {"act_algorithm": "histogram"})


def _rel_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got - want).norm() / want.norm())


def _is_qdq(node: torch.fx.Node) -> bool:
    return node.op == "call_function" and getattr(node.target, "__name__", "").split(".")[0] in QDQ


def _options(adaptor, model):
    for spec in adaptor.capability(model).ops:
        for option in spec.options:
            yield spec.name, option


# Tolerances of relative output error: static int8 / dynamic int8 / weight-only int8 ~1-3%,
# int4 ~10%, bf16/fp16 < 1%.
def _tolerance(option: OpOption) -> float:
    if option.dtype == "int4":
        return 0.15
    if option.is_float:
        return 0.01
    return 0.05


def test_every_option_of_every_op_runs_close_to_fp32(tiny, tiny_adaptor, tiny_calibration) -> None:
    base = _all_float(tiny_adaptor, tiny)
    x = batches((1, 8, 8), n=1, batch=5, seed=7)[0]  # another batch size than calibration
    with torch.no_grad():
        want = tiny(x)
    seen = set()
    for name, option in _options(tiny_adaptor, tiny):
        model = tiny_adaptor.quantize(tiny, base.replace({name: option}), tiny_calibration)
        with torch.no_grad():
            got = model(x)
        assert got.shape == want.shape
        assert _rel_error(got, want) < _tolerance(option), (name, str(option))
        seen.add((option.dtype, option.mode))
    assert {("int8", "static"), ("int8", "dynamic"), ("int8", "weight_only"), ("int4", "weight_only")} <= seen
    assert ("bf16", "float") in seen


def test_embedding_weight_only_options(tmp_path: Path) -> None:
    model = seeded(TinyEmbedding())
    tokens = torch.randint(0, 50, (6, 5), generator=torch.Generator().manual_seed(0))
    adaptor = TorchAdaptor(example_inputs=tokens)
    cap = adaptor.capability(model)
    emb = next(op for op in cap.ops if op.name == "emb")
    assert emb.type == "Embedding"
    assert {(o.dtype, o.mode) for o in emb.quantized_options} == {("int8", "weight_only"), ("int4", "weight_only")}
    base = _all_float(adaptor, model)
    with torch.no_grad():
        want = model(tokens)
    for option in emb.options:
        got = adaptor.quantize(model, base.replace({"emb": option}), Calibration(data=[tokens]))(tokens)
        assert _rel_error(got, want) < _tolerance(option), str(option)
    int4 = adaptor.quantize(model, base.replace({"emb": emb.quantized_options[-1]}), Calibration(data=[tokens]))
    assert adaptor.model_size(int4) < adaptor.model_size(model)


def test_fallback_ops_have_no_quantize_nodes(tiny, tiny_adaptor, tiny_calibration) -> None:
    config = _default(tiny_adaptor, tiny).replace({"fc1": OpOption.float(), "conv1d": OpOption.float()})
    model = tiny_adaptor.quantize(tiny, config, tiny_calibration)
    nodes = {n.name: n for n in model.graph.nodes}
    ops = tiny_adaptor._states[id(tiny)].graph_ops
    for name in ("fc1", "conv1d"):
        node = nodes[ops[name].node]
        assert not any(isinstance(a, torch.fx.Node) and _is_qdq(a) for a in node.args), name
        weight = node.args[1]
        assert weight.op == "get_attr" and model.get_parameter(weight.target).dtype == torch.float32
        for qdq in (n for n in model.graph.nodes if _is_qdq(n)):
            stack = [v[0] for v in (qdq.meta.get("nn_module_stack") or {}).values()]
            assert name not in stack, (name, qdq.name)
    for name in ("conv", "fc2"):  # still quantized
        node = nodes[ops[name].node]
        assert any(isinstance(a, torch.fx.Node) and _is_qdq(a) for a in node.args), name


def test_float_ops_run_in_their_dtype(tiny, tiny_adaptor, tiny_calibration) -> None:
    config = _all_float(tiny_adaptor, tiny).replace({"fc1": OpOption.float("bf16")})
    model = tiny_adaptor.quantize(tiny, config, tiny_calibration)
    node = next(n for n in model.graph.nodes if n.name == tiny_adaptor._states[id(tiny)].graph_ops["fc1"].node)
    weight = node.args[1]
    assert getattr(model, weight.target).dtype == torch.bfloat16
    assert not any(_is_qdq(n) for n in model.graph.nodes)


@pytest.mark.parametrize("act_algorithm", ["histogram", "minmax"])
def test_cached_observer_statistics_equal_a_fresh_calibration(tiny, tiny_data, act_algorithm) -> None:
    cached = TorchAdaptor(example_inputs=tiny_data[0])
    fresh = TorchAdaptor(example_inputs=tiny_data[0], reuse_calibration=False)
    calibration = Calibration(data=tiny_data)
    default = _default(cached, tiny).replace(recipes={"act_algorithm": act_algorithm})
    cap = cached.capability(tiny)
    per_tensor = next(o for o in cap.ops[0].options if o.get("weight_granularity") == "per_tensor")
    configs = [
        default,
        default.replace({"fc1": OpOption.float(), "matmul": OpOption.float()}),
        default.replace({"conv": per_tensor, "fc2": OpOption.float("bf16")}),
    ]
    x = batches((1, 8, 8), n=1, batch=4, seed=3)[0]
    for config in configs:
        a = cached.quantize(tiny, config, calibration)(x)
        b = fresh.quantize(tiny, config, calibration)(x)
        assert torch.equal(a, b)
    assert cached.calibration_runs == 1
    assert [c.calibration for c in cached.costs] == ["reused"] * 3
    assert fresh.calibration_runs == 3


def test_quantized_weights_are_reused_across_trials(tiny, tiny_data) -> None:
    adaptor = TorchAdaptor(example_inputs=tiny_data[0])
    cap = adaptor.capability(tiny)
    dynamic = next(o for o in next(op for op in cap.ops if op.name == "fc1").options if o.mode == "dynamic")
    config = _all_float(adaptor, tiny).replace({"fc1": dynamic})
    adaptor.quantize(tiny, config, Calibration(data=tiny_data))
    adaptor.quantize(tiny, config.replace({"fc2": OpOption.float("bf16")}), Calibration(data=tiny_data))
    assert [(c.weights_quantized, c.weights_reused) for c in adaptor.costs] == [(1, 0), (0, 1)]


def test_model_size_counts_stored_bytes(tiny, tiny_adaptor, tiny_calibration) -> None:
    fp32 = tiny_adaptor.model_size(tiny)
    assert fp32 == sum(p.numel() * 4 for p in tiny.parameters()) + sum(
        b.numel() * b.element_size() for b in tiny.buffers()
    )
    int8 = tiny_adaptor.model_size(tiny_adaptor.quantize(tiny, _default(tiny_adaptor, tiny), tiny_calibration))
    assert int8 < fp32 / 2.5
    cap = tiny_adaptor.capability(tiny)
    fc1 = next(op for op in cap.ops if op.name == "fc1")
    int4 = next(o for o in fc1.options if o.dtype == "int4")
    int8_wo = next(o for o in fc1.options if o.dtype == "int8" and o.mode == "weight_only")
    base = _all_float(tiny_adaptor, tiny)
    size4 = tiny_adaptor.model_size(tiny_adaptor.quantize(tiny, base.replace({"fc1": int4}), tiny_calibration))
    size8 = tiny_adaptor.model_size(tiny_adaptor.quantize(tiny, base.replace({"fc1": int8_wo}), tiny_calibration))
    assert size4 < size8 < fp32


def test_save_and_load_round_trip(tiny, tiny_adaptor, tiny_calibration, tmp_path: Path) -> None:
    model = tiny_adaptor.quantize(tiny, _default(tiny_adaptor, tiny), tiny_calibration)
    path = tiny_adaptor.save(model, tmp_path / "best_model")
    assert path.name == "best_model.pt2" and path.exists()
    assert TorchAdaptor.accepts(str(path))
    loaded = TorchAdaptor().load(path)
    x = batches((1, 8, 8), n=1, batch=3, seed=5)[0]
    assert torch.allclose(loaded(x), model(x))
    loaded.eval()  # users' eval functions may call .eval()


def test_benchmark_returns_a_median(tiny, tiny_adaptor, tiny_calibration) -> None:
    seconds = tiny_adaptor.benchmark(tiny, tiny_calibration)
    assert 0 < seconds < 1


def test_benchmark_many_times_the_models_paired_on_the_users_threads(tiny, tiny_data) -> None:
    adaptor = TorchAdaptor(example_inputs=tiny_data[0], threads=2, repetitions=3, warmup=1)
    quantized = adaptor.quantize(tiny, _default(adaptor, tiny), Calibration(data=tiny_data))
    seen = []

    class Spy(torch.nn.Module):  # records the thread setting each model runs under
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            seen.append(torch.get_num_threads())
            return self.inner(x)

    before = torch.get_num_threads()
    latencies = adaptor.benchmark_many([tiny, Spy(quantized), tiny], Calibration(data=tiny_data))
    assert len(latencies) == 3 and all(0 < t < 1 for t in latencies)
    assert set(seen) == {2} and len(seen) >= 4 and torch.get_num_threads() == before
    assert adaptor.benchmark_many([], Calibration(data=tiny_data)) == []


def test_compiled_benchmark_compiles_fp32_and_candidates_alike(tiny_data) -> None:
    from inc_torch.testing import OutlierMLP

    model = seeded(OutlierMLP())
    data = batches((32,), n=2)
    adaptor = TorchAdaptor(example_inputs=data[0], compile=True, repetitions=3, warmup=1)
    cap = adaptor.capability(model)
    dynamic = TuneConfig({op.name: next(o for o in op.options if o.mode == "dynamic") for op in cap.ops})
    quantized = adaptor.quantize(model, dynamic, Calibration(data=data))
    torch._dynamo.reset()
    latencies = adaptor.benchmark_many([model, quantized], Calibration(data=data))
    assert all(0 < t < 1 for t in latencies)
    assert adaptor._states[id(model)].compiled is not None  # the fp32 model's compile is kept for later trials
    from torch._dynamo.utils import counters

    assert counters["stats"]["unique_graphs"] >= 2  # both went through dynamo


def test_run_fn_calibration_and_example_capture(tiny, tiny_data) -> None:
    calls = []

    def run_fn(model):
        calls.append(type(model).__name__)
        for x in tiny_data:
            model(x)

    adaptor = TorchAdaptor()
    adaptor.capability(tiny)  # module tree: no example inputs yet
    model = adaptor.quantize(tiny, _default(adaptor, tiny), Calibration(run_fn=run_fn))
    assert model(tiny_data[0]).shape == (8, 10)
    assert len(calls) == 2  # once to learn the inputs, once to calibrate


def test_train_fn_is_called_on_the_prepared_model(tiny, tiny_data) -> None:
    seen = []

    def train_fn(model):
        seen.append(model)
        for x in tiny_data:
            model(x)

    adaptor = TorchAdaptor(example_inputs=tiny_data[0])
    model = adaptor.quantize(tiny, _default(adaptor, tiny), Calibration(data=tiny_data, train_fn=train_fn))
    assert len(seen) == 1 and adaptor.costs[-1].calibration == "trained"
    assert model(tiny_data[0]).shape == (8, 10)


def test_wrong_calibration_batch_names_the_input(tiny, tiny_data) -> None:
    adaptor = TorchAdaptor(example_inputs=tiny_data[0])
    bad = [tiny_data[0], tiny_data[1].double()]
    with pytest.raises(ConfigError, match=r"calibration batch 1, input 0: expected torch.float32"):
        adaptor.quantize(tiny, _default(adaptor, tiny), Calibration(data=bad))
    with pytest.raises(ConfigError, match=r"calibration batch 0, input 0: expected .* shape \(\*, 1, 8, 8\)"):
        adaptor.quantize(tiny, _default(adaptor, tiny), Calibration(data=[torch.randn(2, 1, 9, 9)]))


class _DataDependent(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # data-dependent Python control flow: torch.export rejects it
            return self.fc(x)
        return -self.fc(x)


def test_unexportable_model_raises_with_torchs_reason_and_a_hint() -> None:
    model = _DataDependent()
    adaptor = TorchAdaptor(example_inputs=torch.randn(2, 4))
    with pytest.raises(AdaptorError, match=r"torch.export could not capture _DataDependent(.|\n)*Hint: pass example"):
        adaptor.capability(model)


def test_missing_calibration_for_static_is_an_adaptor_error(tiny, tiny_data) -> None:
    adaptor = TorchAdaptor(example_inputs=tiny_data[0])
    with pytest.raises(AdaptorError, match="static int8 needs calibration"):
        adaptor.quantize(tiny, _default(adaptor, tiny), Calibration())


@pytest.mark.parametrize("method", ["mse", "mse_v2", "hawq_v2"])
def test_sensitivity_methods_score_every_op(tiny, tiny_adaptor, tiny_calibration, method) -> None:
    config = _default(tiny_adaptor, tiny)
    scores = tiny_adaptor.op_sensitivity(tiny, config, tiny_calibration, method)
    assert set(scores) == set(config.ops)
    if method == "mse_v2":  # a fallback's gain can be ~0 or slightly negative; the big ones are positive
        assert max(scores.values()) > 0 and all(abs(v) < 1 for v in scores.values()), scores
    elif method == "mse":  # the error each op adds: never negative, some op adds some
        assert max(scores.values()) > 0 and min(scores.values()) >= 0, scores
    else:
        assert all(scores[name] > 0 for name in ["conv", "conv1d", "fc1", "fc2"]), scores


def test_hawq_v2_with_both_loss_signatures(tiny, tiny_data) -> None:
    labels = [
        torch.randint(0, 10, (len(x),), generator=torch.Generator().manual_seed(i)) for i, x in enumerate(tiny_data)
    ]
    data = list(zip(tiny_data, labels, strict=True))  # INC-style (inputs, label) batches
    adaptor = TorchAdaptor(example_inputs=tiny_data[0], hutchinson_samples=4)
    config = _default(adaptor, tiny)
    by_output = adaptor.op_sensitivity(
        tiny, config, Calibration(data=data, loss_fn=torch.nn.functional.cross_entropy), "hawq_v2"
    )

    def model_loss(model, batch):
        x, y = batch
        return torch.nn.functional.cross_entropy(model(x), y)

    by_model = adaptor.op_sensitivity(tiny, config, Calibration(data=data, loss_fn=model_loss), "hawq_v2")
    for name in ("conv", "fc1", "fc2"):
        assert by_output[name] == pytest.approx(by_model[name], rel=1e-4)
    assert by_output["matmul"] == 0.0


def test_unknown_op_in_config_is_a_config_error(tiny, tiny_adaptor, tiny_calibration) -> None:
    config = _default(tiny_adaptor, tiny).replace({"nope": OpOption.float()})
    with pytest.raises(ConfigError, match="nope"):
        tiny_adaptor.quantize(tiny, config, tiny_calibration)


def test_quantize_leaves_the_model_unchanged(tiny_data) -> None:
    model = seeded(TinyNet())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    adaptor = TorchAdaptor(example_inputs=tiny_data[0])
    adaptor.quantize(model, _default(adaptor, model), Calibration(data=tiny_data))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_smooth_quant_recipe_matches_torchaos_eager_flow() -> None:
    import copy

    from torchao.prototype.smoothquant import SmoothQuantConfig
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    from inc_torch.testing import OutlierMLP

    model = seeded(OutlierMLP())
    data = batches((32,), n=3)
    adaptor = TorchAdaptor(example_inputs=data[0])
    cap = adaptor.capability(model)
    assert cap.recipes["smooth_quant_alpha"] == (None, 0.5, 0.75)
    dynamic = {op.name: next(o for o in op.options if o.mode == "dynamic") for op in cap.ops}
    x = batches((32,), n=1, batch=16, seed=5)[0]
    for alpha in (0.5, 0.75):
        eager = copy.deepcopy(model)
        base = Int8DynamicActivationInt8WeightConfig()
        quantize_(eager, SmoothQuantConfig(base_config=base, step="prepare", alpha=alpha))
        for batch in data:
            eager(batch)
        quantize_(
            eager,
            SmoothQuantConfig(base_config=Int8DynamicActivationInt8WeightConfig(), step="convert", alpha=alpha),
        )
        config = TuneConfig(dynamic, {"act_algorithm": "histogram", "smooth_quant_alpha": alpha})
        ours = adaptor.quantize(model, config, Calibration(data=data))
        assert torch.equal(ours(x), eager(x))
    assert adaptor.calibration_runs == 1  # one observation serves every alpha
