from __future__ import annotations

import pytest

from inc_core import Capability, ConfigError, OpOption, OpSpec, TuningSpace

PC = OpOption("int8", "static", {"weight_granularity": "per_channel", "weight_scheme": "sym"})
PT = OpOption("int8", "static", {"weight_granularity": "per_tensor", "weight_scheme": "sym"})
DYN = OpOption("int8", "dynamic", {"weight_granularity": "per_tensor"})
BF16, FP32 = OpOption.float("bf16"), OpOption.float("fp32")


def capability() -> Capability:
    return Capability(
        (
            OpSpec("conv1", "Conv", (PC, PT, BF16, FP32)),
            OpSpec("conv2", "Conv", (PC, PT, BF16, FP32)),
            OpSpec("fc1", "MatMul", (PT, DYN, FP32)),
            OpSpec("fc2", "MatMul", (PT, DYN, FP32)),
        ),
        {"calib_sampling_size": (100, 200)},
    )


def test_default_config_takes_first_options() -> None:
    space = TuningSpace(capability())
    default = space.default_config()
    assert default["conv1"] == PC and default["fc1"] == PT
    assert default.recipes == {"calib_sampling_size": 100}
    assert space.size() == 4 * 4 * 3 * 3 * 2


def test_constraint_precedence_global_type_name() -> None:
    space = TuningSpace(
        capability(),
        global_constraint={"weight_granularity": "per_tensor"},
        op_type_dict={"MatMul": {"mode": ["dynamic", "float"]}},
        op_name_dict={"conv2": {"weight_granularity": ["per_channel"]}, "fc.*": {"dtype": "fp32"}},
    )
    assert space.op("conv1").options == (PT, BF16, FP32)
    assert space.op("conv2").options == (PC, BF16, FP32)  # the name constraint wins over the global one
    assert space.op("fc1").options == (FP32,)  # fp32 removes every quantized mode


def test_unsupported_value_names_op_and_valid_values() -> None:
    with pytest.raises(ConfigError, match=r"op 'fc1' \(MatMul\) does not support dtype='int4'.*valid dtype values"):
        TuningSpace(capability(), op_name_dict={"fc1": {"dtype": ["int4", "int8"]}})


def test_unknown_op_type_is_an_error() -> None:
    with pytest.raises(ConfigError, match="Gemm"):
        TuningSpace(capability(), op_type_dict={"Gemm": {"dtype": "fp32"}})


def test_unknown_recipe_value_is_an_error() -> None:
    with pytest.raises(ConfigError, match="calib_sampling_size"):
        TuningSpace(capability(), recipes={"calib_sampling_size": 7})


def test_op_type_wise_last_type_fastest_first_all_default() -> None:
    space = TuningSpace(capability())
    configs = list(space.op_type_wise_configs())
    assert configs[0] == space.default_config()
    assert [(c["conv1"], c["fc1"]) for c in configs[:3]] == [(PC, PT), (PC, DYN), (PC, FP32)]
    assert len(configs) == 4 * 3
    assert all(c["conv1"] == c["conv2"] and c["fc1"] == c["fc2"] for c in configs)


def test_op_wise_product_and_model_wise() -> None:
    space = TuningSpace(capability())
    assert len(set(space.op_wise_configs())) == 4 * 4 * 3 * 3
    assert [c["conv1"] for c in space.model_wise_configs()] == [PT, FP32]


def test_with_float_skips_ops_without_that_dtype() -> None:
    space = TuningSpace(capability())
    config = space.with_float(space.default_config(), ["conv1", "fc1"], "bf16")
    assert config["conv1"] == BF16 and config["fc1"] == PT


def test_contains() -> None:
    space = TuningSpace(capability())
    assert space.contains(space.default_config())
    assert not space.contains(space.default_config().replace({"fc1": BF16}))


def test_config_from_settings_applies_to_eligible_ops_and_keeps_overrides() -> None:
    space = TuningSpace(capability())
    config = space.config_from_settings({"dtype": "bf16"}, {"conv2": {"dtype": "fp32"}})
    assert config["conv1"] == BF16 and config["conv2"] == FP32
    assert config["fc1"] == PT  # no bf16 option: keeps its default
    with pytest.raises(ConfigError, match="bitz"):
        space.config_from_settings({"bitz": 4})


def test_duplicate_op_names_rejected() -> None:
    with pytest.raises(ConfigError, match="twice"):
        Capability((OpSpec("a", "Conv", (PC,)), OpSpec("a", "Conv", (PC,))))


def test_constraints_keep_each_ops_tensor_names() -> None:
    from inc_core import Capability, OpOption, OpSpec, TuningSpace

    options = (OpOption("int8", "static", {}), OpOption("int8", "dynamic", {}), OpOption.float("fp32"))
    capability = Capability((OpSpec("mm", "MatMul", options, inputs=("x",), outputs=("y",)),))
    space = TuningSpace(capability, op_type_dict={"MatMul": {"mode": ["dynamic", "float"]}})
    op = space.op("mm")
    assert [o.mode for o in op.options] == ["dynamic", "float"]
    assert op.inputs == ("x",) and op.outputs == ("y",)
