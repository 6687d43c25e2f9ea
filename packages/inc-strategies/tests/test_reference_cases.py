"""Behaviour cases from the strategy reference, with scripted scores (baseline first)."""

from __future__ import annotations

import pytest

from inc_core.testing import SyntheticModel


def convs_and_final_matmul() -> SyntheticModel:
    # The Add stays float through the group pass, so "both groups int8" is a new config,
    # not the (already evaluated, failing) default; duplicates are never re-evaluated.
    return SyntheticModel(4, "flat", seed=0, op_types=("Conv", "Conv", "Add", "MatMul"))


def dtypes(config, prefix):
    return {option.dtype for name, option in config.items() if name.startswith(prefix)}


def test_auto_passing_default_is_one_trial_all_int8(tune_scripted, tmp_path) -> None:
    result, _, _ = tune_scripted("auto", SyntheticModel(6, "flat"), [1.2], tmp_path)
    assert len(result.trials) == 1 and result.met_goal
    assert {o.dtype for o in result.best_config.values()} == {"int8"}


def test_auto_evaluates_the_measured_presets_fastest_first(tune_scripted, tmp_path) -> None:
    # The synthetic costs make static the fastest preset, then bf16, then dynamic.
    result, _, _ = tune_scripted("auto", convs_and_final_matmul(), [0.9, 0.9, 1.1], tmp_path)
    ranking = sorted(result.cost_model["presets"].items(), key=lambda kv: -kv[1]["speedup"])
    assert [kind for kind, _ in ranking][:3] == ["static", "bf16", "dynamic"]
    assert [t.stage for t in result.trials] == [
        "default config (fastest measured preset)",
        "bf16 preset",
        "dynamic preset",
    ]
    assert {o.mode for o in result.trials[0].config.values()} == {"static"}
    assert result.met_goal and result.best_trial.number == 3 and result.speedup > 1.05


def transformer_like(hot: tuple[str, ...] = ("matmul_3", "matmul_10")) -> SyntheticModel:
    """MatMuls and Adds where, as on a CPU transformer, static QDQ and bf16 are slower than fp32."""
    model = SyntheticModel(24, "flat", op_types=("MatMul", "MatMul", "Add"), speed={"static": 2.5, "bf16": 1.6})
    model.sensitivity[:] = 1e-6
    for name in hot:
        model.sensitivity[model.names.index(name)] = 0.02 * model.base_accuracy
    return model


def test_auto_starts_with_dynamic_when_it_is_the_fast_mode_and_demotes_only_the_culprits(tmp_path) -> None:
    from inc_core import TuningConfig, autotune
    from inc_core.testing import SyntheticAdaptor, synthetic_accuracy

    model = transformer_like()
    config = TuningConfig(strategy="auto", run_dir=tmp_path, max_trials=50)
    result = autotune(model, config, synthetic_accuracy, adaptor=SyntheticAdaptor(noise=0.0))
    first = result.trials[0].config
    assert {first[n].mode for n in model.names if n.startswith("matmul")} == {"dynamic"}
    assert {first[n].dtype for n in model.names if n.startswith("add")} == {"fp32"}
    assert all(o.mode != "static" for t in result.trials for o in t.config.values())  # slower: pruned
    assert result.met_goal and result.speedup > 1.05
    assert sorted(result.best_config.float_ops()) == sorted(["matmul_3", "matmul_10", *model.names[2::3]])
    assert len(result.trials) <= 5  # dynamic, weight-only preset, then k = 1, 2


def test_auto_demotes_a_culprit_to_a_more_accurate_mode_when_sensitivity_says_it_helps(tmp_path) -> None:
    from inc_core import TuningConfig, autotune
    from inc_core.testing import SyntheticAdaptor, synthetic_accuracy

    # Dynamic is barely faster than fp32 as a whole, but removes 90% of the culprits' error.
    model = SyntheticModel(
        12, "flat", op_types=("MatMul",), speed={"dynamic": 2.2, "bf16": 1.6}, damage={"dynamic": 0.1}
    )
    model.sensitivity[:] = 1e-6
    model.sensitivity[[2, 7]] = 0.0075
    config = TuningConfig(strategy="auto", run_dir=tmp_path, max_trials=50)
    result = autotune(model, config, synthetic_accuracy, adaptor=SyntheticAdaptor(noise=0.0))
    assert [t.stage.split(":")[0] for t in result.trials] == [
        "default config (fastest measured preset)",
        "weight_only preset",
        "fallback from static",
        "fallback from static",
    ]
    best = result.best_config
    assert result.met_goal and best["matmul_2"].mode == best["matmul_7"].mode == "dynamic"
    assert {best[n].mode for n in model.names if n not in ("matmul_2", "matmul_7")} == {"static"}


def test_auto_max_trials_one_returns_best_so_far(tune_scripted, tmp_path) -> None:
    result, _, _ = tune_scripted("auto", SyntheticModel(6, "flat"), [0.5], tmp_path, max_trials=1)
    assert len(result.trials) == 1 and not result.met_goal
    assert result.best_config is not None and result.best_model.config == result.best_config


def test_conservative_keeps_the_groups_that_pass(tune_scripted, tmp_path) -> None:
    model = SyntheticModel(4, "flat", seed=0, op_types=("Conv", "Linear"))
    # the default first (fails), then the conv group (fails) and the linear group (passes)
    result, _, _ = tune_scripted("conservative", model, [1.0, 1.0, 2.1], tmp_path, baseline=2.0)
    assert len(result.trials) == 3 and result.trials[0].stage == "default config"
    assert dtypes(result.best_config, "conv") == {"bf16"}
    assert dtypes(result.best_config, "linear") == {"int8"}


def test_basic_tries_lower_bits_when_time_allows(tune_scripted, tmp_path) -> None:
    model = SyntheticModel(6, "flat", op_types=("MatMul",))
    result, _, _ = tune_scripted("basic", model, [1.0, 1.0], tmp_path, timeout=60, max_trials=2)
    assert len(result.trials) == 2
    assert {o.dtype for o in result.trials[1].config.values()} == {"int4"}
    passing = [t for t in result.trials if t.passed]
    assert result.best_trial.latency == min(t.latency for t in passing)


def test_basic_with_ever_decreasing_accuracy_exhausts_its_stages(tune_scripted, tmp_path) -> None:
    model = SyntheticModel(3, "flat", op_types=("Conv", "MatMul", "Add"))
    scores = [0.9 - 0.001 * i for i in range(500)]
    result, _, _ = tune_scripted("basic", model, scores, tmp_path, max_trials=500)
    assert not result.met_goal and result.stop_reason.startswith("the strategy has no more")
    assert len({t.config for t in result.trials}) == len(result.trials)
    assert result.best_trial.number == 1


@pytest.mark.filterwarnings("ignore:exhaustive. the tuning space")
@pytest.mark.parametrize("strategy", ["exhaustive", "random", "bayesian", "mse", "tpe"])
def test_a_passing_model_within_three_trials(tune_scripted, tmp_path, strategy) -> None:
    result, _, _ = tune_scripted(strategy, SyntheticModel(6, "flat"), [0.9, 1.0], tmp_path, max_trials=3)
    assert result.met_goal and len(result.trials) == 2


@pytest.mark.filterwarnings("ignore:exhaustive. the tuning space")
@pytest.mark.parametrize("strategy", ["exhaustive", "random", "bayesian", "mse", "tpe"])
def test_one_trial_with_a_constant_passing_score(tune_scripted, tmp_path, strategy) -> None:
    result, _, _ = tune_scripted(strategy, SyntheticModel(6, "flat"), [1.0], tmp_path, max_trials=1)
    assert result.met_goal and result.best_model is not None and len(result.trials) == 1


@pytest.mark.parametrize("strategy", ["auto", "basic", "random"])
def test_more_workers_than_configs_end_cleanly(tune_scripted, tmp_path, strategy) -> None:
    result, _, _ = tune_scripted(
        strategy,
        SyntheticModel(1, "flat", op_types=("Add",)),
        [0.5],
        tmp_path,
        executor="threads",
        workers=8,
        max_trials=50,
    )
    assert not result.met_goal and result.best_config is not None
    assert 1 <= len(result.trials) == len({t.config for t in result.trials})
    assert result.stop_reason.startswith("the strategy has no more")


def test_conservative_mixes_static_and_dynamic_groups(tune_scripted, tmp_path) -> None:
    model = SyntheticModel(4, "flat", seed=0, op_types=("Conv", "MatMul"))
    result, _, _ = tune_scripted(
        "conservative", model, [0.5, 1.0, 1.0], tmp_path, op_type_dict={"MatMul": {"mode": ["dynamic", "float"]}}
    )
    assert len(result.trials) == 3 and result.met_goal  # the default, then exactly G = 2 groups
    modes = {option.mode for option in result.best_config.values()}
    assert modes == {"static", "dynamic"}


def test_mse_accumulates_in_the_order_the_one_by_one_trials_measured(tune_scripted, tmp_path) -> None:
    model = SyntheticModel(4, "flat", seed=0, op_types=("Conv",))
    # default fails; one-by-one (to bf16) scores 0.90, 0.95, 0.91, 0.93 all fail; then accumulated
    scores = [0.5, 0.90, 0.95, 0.91, 0.93, 0.5, 1.0]
    result, _, _ = tune_scripted("mse", model, scores, tmp_path, strategy_kwargs={"op_type_wise": 1})
    one_by_one = result.trials[1:5]
    by_score = sorted(one_by_one, key=lambda t: -t.score)
    ranked = [t.config.float_ops()[0] for t in by_score]
    assert result.trials[5].config.float_ops() == sorted(ranked[:2], key=model.names.index)
    assert set(result.best_config.float_ops()) == set(ranked[:3]) and result.met_goal


def test_auto_with_time_left_tries_bf16_for_the_fallen_back_ops(tmp_path) -> None:
    from inc_core import TuningConfig, autotune
    from inc_core.testing import SyntheticAdaptor, synthetic_accuracy

    model = SyntheticModel(40, "few_sensitive", seed=6)
    config = TuningConfig(strategy="auto", run_dir=tmp_path, max_trials=200, timeout=600)
    result = autotune(model, config, synthetic_accuracy, adaptor=SyntheticAdaptor())
    assert result.met_goal and any(t.stage == "refine: float units in bf16" for t in result.trials)
    assert {result.best_config[n].dtype for n in result.best_config.float_ops()} == {"bf16"}


def test_basic_block_wise_fallback_goes_last_block_first_accumulated(tune_scripted, tmp_path) -> None:
    model = SyntheticModel(6, "flat", op_types=("Add",))
    model.names = [f"layer.{i // 2}.add.{i}" for i in range(6)]  # three blocks of two ops
    result, _, _ = tune_scripted("basic", model, [0.5, 0.5, 1.0], tmp_path)
    assert [t.stage for t in result.trials[1:]] == ["block-wise fallback to bf16"] * 2
    assert result.trials[1].config.float_ops() == ["layer.2.add.4", "layer.2.add.5"]
    assert result.best_config.float_ops() == [f"layer.{i // 2}.add.{i}" for i in range(2, 6)]
    assert result.met_goal and len(result.trials) == 3


def test_conservative_splits_a_failing_group_whose_unit_holds_a_float_only_op(context_for) -> None:
    """A MatMul shares its quantized tensor with a Relu whose quantized options the cost model
    dropped: splitting the failing matmul group quantizes the MatMul, leaves the Relu float."""
    from inc_core import Capability, OpOption, OpSpec, TrialState, TuningSpace
    from inc_core.history.trial import Trial
    from inc_strategies.conservative import ConservativeTuneStrategy

    int8, fp32 = OpOption("int8", "static", {}), OpOption.float("fp32")
    ops = (
        OpSpec("m1", "MatMul", (int8, fp32)),
        OpSpec("m2", "MatMul", (int8, fp32)),
        OpSpec("relu", "Relu", (fp32,)),
    )
    space = TuningSpace(Capability(ops, groups=(("m2", "relu"),)))
    strategy = ConservativeTuneStrategy(space, context_for(SyntheticModel(3, "flat", seed=0)))
    proposals = []
    while batch := strategy.ask(1):
        for number, proposal in enumerate(batch, start=len(proposals) + 1):
            proposals.append(proposal.config)
            failed = Trial(number, proposal.config, proposal.seq, state=TrialState.COMPLETE, score=0.0)
            strategy.tell(failed)
    assert all(config["relu"] == fp32 for config in proposals)
    assert any(config["m2"] == int8 and config["m1"] == fp32 for config in proposals)  # the half with the unit


@pytest.mark.parametrize(("error", "tried"), [(0.02, True), (0.002, False), (None, False)])
def test_a_preset_just_under_min_gain_gets_a_trial_only_if_its_timing_noise_allows_the_gain(error, tried) -> None:
    """Static measured at 1.03x: with 2% timing noise it may really be 1.07x, above min_gain=5%,
    so it is worth a trial; measured to 0.2% (or with no error reported) it cannot meet the goal."""
    from inc_core import TuningSpace
    from inc_core.config.objectives import Objectives
    from inc_core.measure.cost import CostModel, PresetCost
    from inc_core.testing import SyntheticAdaptor
    from inc_strategies.modes import preset_order

    space = TuningSpace(SyntheticAdaptor().capability(SyntheticModel(4, "flat")))
    presets = {
        "dynamic": PresetCost("dynamic", latency=0.5, speedup=2.0, speedup_error=0.01),
        "static": PresetCost("static", latency=1 / 1.03, speedup=1.03, speedup_error=error),
        "bf16": PresetCost("bf16", latency=1.25, speedup=0.8, speedup_error=0.05),
    }
    cost_model = CostModel(presets, Objectives({"latency": 1.0}, baseline_latency=1.0))
    expected = ["dynamic", "static"] if tried else ["dynamic"]
    assert preset_order(space, cost_model, min_gain=0.05) == expected
    assert preset_order(space, cost_model, min_gain=None) == ["dynamic", "static"]
