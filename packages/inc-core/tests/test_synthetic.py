from __future__ import annotations

import pytest

from inc_core import ConfigError, TuningSpace
from inc_core.testing import PROFILES, SyntheticAdaptor, SyntheticModel, synthetic_accuracy


def full_int8_accuracy(profile: str, n: int = 200) -> float:
    model = SyntheticModel(n, profile, seed=1)
    adaptor = SyntheticAdaptor()
    space = TuningSpace(adaptor.capability(model))
    return synthetic_accuracy(adaptor.quantize(model, space.default_config(), None))


def test_profiles_behave_as_documented() -> None:
    target = 0.8 * 0.99
    assert full_int8_accuracy("flat") >= target
    assert full_int8_accuracy("few_sensitive") < target
    assert full_int8_accuracy("many_mild") < target


def test_deterministic_from_seed() -> None:
    a, b, c = SyntheticModel(50, seed=3), SyntheticModel(50, seed=3), SyntheticModel(50, seed=4)
    assert (a.sensitivity == b.sensitivity).all() and not (a.sensitivity == c.sensitivity).all()


def test_falling_back_the_sensitive_ops_recovers_accuracy() -> None:
    model = SyntheticModel(100, "few_sensitive", seed=2, n_sensitive=3)
    adaptor = SyntheticAdaptor(noise=0.0)
    space = TuningSpace(adaptor.capability(model))
    default = space.default_config()
    scores = adaptor.op_sensitivity(model, default, None, "mse")
    top = sorted(scores, key=scores.get, reverse=True)[:3]
    recovered = adaptor.quantize(model, space.with_float(default, top), None)
    assert synthetic_accuracy(recovered) >= 0.8 * 0.99


def test_latency_and_size_reward_quantization() -> None:
    model = SyntheticModel(30, "flat")
    adaptor = SyntheticAdaptor()
    default = TuningSpace(adaptor.capability(model)).default_config()
    quantized = adaptor.quantize(model, default, None)
    assert adaptor.benchmark(quantized, None) < adaptor.benchmark(model, None)
    assert adaptor.model_size(quantized) < adaptor.model_size(model)


def test_ten_thousand_ops() -> None:
    model = SyntheticModel(10_000, "many_mild", seed=0)
    space = TuningSpace(SyntheticAdaptor().capability(model))
    assert len(space) == 10_000
    assert synthetic_accuracy(model.quantized(space.default_config())) < 0.8


@pytest.mark.parametrize(("kwargs", "message"), [({"profile": "spiky"}, "profile"), ({"n_ops": -1}, "n_ops")])
def test_bad_arguments(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        SyntheticModel(**kwargs)


def test_profiles_constant() -> None:
    assert set(PROFILES) == {"flat", "few_sensitive", "many_mild"}
