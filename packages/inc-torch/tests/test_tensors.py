"""Named tensors (`TorchAdaptor.tensor_values`) and core's sensitivity on top of them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inc_core import Calibration, OpOption, TuneConfig, TuningSpace
from inc_core.measure import sensitivity as core_sensitivity
from inc_torch.adaptor import TorchAdaptor
from inc_torch.testing import OutlierMLP, batches, seeded


def _config(adaptor, model, pick) -> TuneConfig:
    return TuneConfig({op.name: pick(op) for op in adaptor.capability(model).ops}, {"act_algorithm": "minmax"})


def _first(mode: str):
    return lambda op: next((o for o in op.options if o.mode == mode), OpOption.float("fp32"))


def _names(adaptor, model) -> list[str]:
    cap = adaptor.capability(model)
    return [t for op in cap.ops for t in (*op.inputs, *op.outputs)] + list(cap.outputs)


def test_capability_names_every_ops_tensors_and_the_model_outputs(tiny, tiny_adaptor) -> None:
    cap = tiny_adaptor.capability(tiny)
    spec = {op.name: op for op in cap.ops}
    assert spec["conv"].inputs == ("conv:in0",) and spec["conv"].outputs == ("conv:out",)
    assert spec["bmm"].inputs == ("bmm:in0", "bmm:in1")
    assert cap.outputs == ("output:0",)
    assert core_sensitivity.supports_tensors(TuningSpace(cap))


def test_fp32_values_are_the_models_own_tensors(tiny, tiny_adaptor, tiny_calibration, tiny_data) -> None:
    names = _names(tiny_adaptor, tiny)
    first = next(iter(tiny_adaptor.tensor_values(tiny, tiny_calibration, names, batches=1)))
    assert set(first) == set(names)
    x = tiny_data[0]
    with torch.no_grad():
        normalised = tiny.bn(tiny.conv(x))  # conv:out is after its BatchNorm, as PT2E folds it
        want = tiny(x)
    np.testing.assert_allclose(first["conv:in0"], x.numpy())
    np.testing.assert_allclose(first["conv:out"], normalised.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(first["output:0"], want.numpy(), rtol=1e-5, atol=1e-6)
    assert len(list(tiny_adaptor.tensor_values(tiny, tiny_calibration, names, batches=3))) == 3


@pytest.mark.parametrize("mode", ["static", "dynamic", "bf16"])
def test_quantized_models_expose_the_same_names(tiny, tiny_adaptor, tiny_calibration, mode) -> None:
    pick = (lambda op: OpOption.float("bf16")) if mode == "bf16" else _first(mode)
    quantized = tiny_adaptor.quantize(tiny, _config(tiny_adaptor, tiny, pick), tiny_calibration)
    names = _names(tiny_adaptor, tiny)
    want = next(iter(tiny_adaptor.tensor_values(tiny, tiny_calibration, names, batches=1)))
    got = next(iter(tiny_adaptor.tensor_values(quantized, tiny_calibration, names, batches=1)))
    assert set(got) == set(want)
    assert all(got[n].shape == want[n].shape and got[n].dtype == np.float32 for n in want)
    np.testing.assert_array_equal(got["conv:in0"], want["conv:in0"])  # the graph input, not its int8 copy
    error = np.linalg.norm(got["output:0"] - want["output:0"]) / np.linalg.norm(want["output:0"])
    assert 0 < error < 0.05, error
    quantized_ops = [op for op in tiny_adaptor.capability(tiny).ops if not pick(op).is_float or mode == "bf16"]
    assert any(not np.array_equal(got[f"{op.name}:out"], want[f"{op.name}:out"]) for op in quantized_ops)


def test_unknown_names_are_left_out(tiny, tiny_adaptor, tiny_calibration) -> None:
    values = next(iter(tiny_adaptor.tensor_values(tiny, tiny_calibration, ["nope:out", "fc1:in7", "fc1:out"], 1)))
    assert set(values) == {"fc1:out"}


def test_tensor_values_keep_the_callers_thread_setting(tiny_data) -> None:
    model = seeded(OutlierMLP())
    adaptor = TorchAdaptor(example_inputs=batches((32,), n=1)[0], threads=2)
    before = torch.get_num_threads()
    reference = adaptor.tensor_values(model, Calibration(data=batches((32,), n=3)), ["fc1:out"], batches=3)
    next(reference)  # left paused, as core's paired reads leave one of two generators
    assert torch.get_num_threads() == before


@pytest.fixture(scope="module")
def outlier():
    model = seeded(OutlierMLP())
    data = batches((32,), n=2, batch=32)
    adaptor = TorchAdaptor(example_inputs=data[0])
    return model, adaptor, Calibration(data=data)


def test_adaptor_mse_is_cores_definition(outlier) -> None:
    model, adaptor, calibration = outlier
    space = TuningSpace(adaptor.capability(model))
    config = _config(adaptor, model, _first("static"))
    scores = core_sensitivity.op_error(adaptor, model, calibration, space, config)
    assert set(scores) == {"fc1", "fc2", "fc3"} and all(v > 0 for v in scores.values()), scores
    assert scores == adaptor.op_sensitivity(model, config, calibration, "mse")


def test_core_mse_v2_gains_most_from_the_outlier_layer(outlier) -> None:
    model, adaptor, calibration = outlier
    space = TuningSpace(adaptor.capability(model))
    config = _config(adaptor, model, _first("static"))
    gains = core_sensitivity.fallback_gain(adaptor, model, calibration, space, config)
    assert set(gains) == {"fc1", "fc2", "fc3"}
    assert max(gains, key=gains.__getitem__) == "fc1" and gains["fc1"] > 0, gains
