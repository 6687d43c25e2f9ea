from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inc_core import OpOption, TuneConfig

dtypes = st.sampled_from(["int8", "uint8", "int4", "bf16", "fp16", "fp32"])
params = st.dictionaries(
    st.sampled_from(["weight_granularity", "act_algorithm", "group_size", "weight_scheme"]),
    st.one_of(st.sampled_from(["per_channel", "per_tensor", "minmax", "sym"]), st.integers(1, 256)),
    max_size=3,
)
options = st.builds(lambda d, p: OpOption(d, "static", p), dtypes, params)
configs = st.builds(
    lambda ops, sampling: TuneConfig(ops, {"calib_sampling_size": sampling}),
    st.dictionaries(st.text("abcdefg_0123", min_size=1, max_size=8), options, max_size=12),
    st.sampled_from([50, 100, 200]),
)


def test_float_dtype_forces_float_mode() -> None:
    assert OpOption("bf16", "static").mode == "float"
    assert OpOption.float().is_float and OpOption.float().dtype == "fp32"


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="mode"):
        OpOption("int8", "sometimes")


def test_option_fields_and_bits() -> None:
    option = OpOption("int4", "weight_only", {"group_size": 32})
    assert option.get("group_size") == 32
    assert option.get("bits") == 4
    assert option.get("missing", "x") == "x"
    assert option.fields() == {"dtype": "int4", "mode": "weight_only", "group_size": 32}


def test_config_is_immutable_and_hashable() -> None:
    config = TuneConfig({"a": OpOption("int8")}, {"alpha": 0.5})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.ops = {}  # type: ignore[misc]
    assert {config: 1}[TuneConfig({"a": OpOption("int8")}, {"alpha": 0.5})] == 1
    assert config != config.replace({"a": OpOption.float()})


def test_replace_leaves_original_untouched() -> None:
    config = TuneConfig({"a": OpOption("int8"), "b": OpOption("int8")})
    changed = config.replace({"b": OpOption.float("bf16")})
    assert config["b"].dtype == "int8"
    assert changed["b"].dtype == "bf16" and changed.float_ops() == ["b"]


@given(configs)
def test_json_and_yaml_round_trip(config: TuneConfig) -> None:
    assert TuneConfig.from_json(config.to_json()) == config
    assert hash(TuneConfig.from_dict(config.to_dict())) == hash(config)


def test_save_and_load_yaml(tmp_path) -> None:
    config = TuneConfig({"conv": OpOption("int8", "static", {"weight_granularity": "per_channel"})}, {"alpha": 0.5})
    path = config.save(tmp_path / "best_config.yaml")
    assert "per_channel" in path.read_text()
    assert TuneConfig.load(path) == config


def test_from_dict_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="ops"):
        TuneConfig.from_dict({"nope": 1})
    with pytest.raises(ValueError, match="dtype"):
        TuneConfig.from_dict({"ops": {"a": {"mode": "static"}}})


@given(configs, st.dictionaries(st.text("abcdefg_0123", min_size=1, max_size=8), options, max_size=5))
def test_replace_hash_equals_a_fresh_config(config: TuneConfig, changes) -> None:
    replaced = config.replace(changes)
    fresh = TuneConfig({**config.ops, **changes}, config.recipes)
    assert replaced == fresh and hash(replaced) == hash(fresh)


def test_configs_pickle() -> None:
    import pickle

    config = TuneConfig({"a": OpOption("int8", "static", {"group_size": 32})}, {"alpha": 0.5})
    assert pickle.loads(pickle.dumps(config)) == config


def test_derived_configs_do_not_collide() -> None:
    """One-by-one fallbacks differ only in which op changed: their hashes must still differ."""
    base = TuneConfig({f"op{i}": OpOption("int8") for i in range(500)})
    derived = [base.replace({f"op{i}": OpOption.float(dtype)}) for i in range(500) for dtype in ("bf16", "fp32")]
    assert len({hash(c) for c in derived}) == len(derived)
