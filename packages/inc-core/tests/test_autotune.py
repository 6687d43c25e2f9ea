from __future__ import annotations

import math

import pytest

from inc_core import (
    BaselineError,
    ConfigError,
    TrialState,
    TuneConfig,
    TuningConfig,
    autotune,
    init_tuning,
)
from inc_core.testing import SyntheticAdaptor, SyntheticModel, synthetic_accuracy


def run(model, tmp_path, eval_fn=synthetic_accuracy, **kwargs):
    kwargs.setdefault("strategy", "toy")
    return autotune(model, TuningConfig(run_dir=tmp_path / "run", **kwargs), eval_fn)


def test_meets_a_one_percent_goal_end_to_end(tmp_path) -> None:
    model = SyntheticModel(40, "few_sensitive", seed=3, n_sensitive=2)
    result = run(model, tmp_path, tolerable_loss=0.01, max_trials=10)
    assert result.met_goal
    assert result.best_trial.score >= 0.8 * 0.99
    assert result.speedup > 1.05 and result.best_config.reduces_precision()
    assert result.best_model.accuracy() == pytest.approx(result.best_trial.score)
    assert (tmp_path / "run" / "best_config.yaml").exists()
    assert TuneConfig.load(tmp_path / "run" / "best_config.yaml") == result.best_config
    assert (tmp_path / "run" / "tuning.log").read_text().count("Trial") >= len(result.trials)


def test_adaptor_is_found_through_plugins(tmp_path) -> None:
    result = run(SyntheticModel(5, "flat"), tmp_path)
    assert result.met_goal and result.best_config is not None


@pytest.mark.parametrize("bad", [RuntimeError("boom"), math.nan, "a string"])
def test_failing_eval_records_the_trial_and_goes_on(tmp_path, bad) -> None:
    calls = []

    def eval_fn(model):
        calls.append(model.config)
        if len(calls) == 2:  # first trial
            if isinstance(bad, Exception):
                raise bad
            return bad
        return synthetic_accuracy(model)

    model = SyntheticModel(8, "few_sensitive", seed=1, n_sensitive=1)
    result = run(model, tmp_path, eval_fn, max_trials=10)
    first = result.trials[0]
    assert first.state is TrialState.FAILED
    assert ("boom" if isinstance(bad, Exception) else "expected") in first.error
    assert len(result.trials) > 1


def test_baseline_failure_is_a_clear_error_before_any_trial(tmp_path) -> None:
    def eval_fn(model):
        raise ValueError("dataset missing")

    with pytest.raises(BaselineError, match="fp32 baseline failed: ValueError: dataset missing"):
        run(SyntheticModel(4), tmp_path, eval_fn)


def test_zero_baseline_relative_vs_absolute(tmp_path) -> None:
    with pytest.raises(BaselineError, match="relative loss is undefined"):
        run(SyntheticModel(4), tmp_path, lambda m: 0.0)
    result = run(SyntheticModel(4), tmp_path / "abs", lambda m: 0.0, criterion="absolute")
    assert result.met_goal


def test_unknown_strategy_lists_installed(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"unknown strategy 'nope'; installed: .*toy"):
        run(SyntheticModel(4), tmp_path, strategy="nope")


def test_unknown_adaptor_for_model_lists_installed(tmp_path) -> None:
    with pytest.raises(ConfigError, match="no installed adaptor accepts a model of type dict"):
        autotune({"not": "a model"}, TuningConfig(run_dir=tmp_path), synthetic_accuracy)


def test_empty_space_returns_fp32_with_reason(tmp_path) -> None:
    result = run(SyntheticModel(0), tmp_path)
    assert result.best_config is None and result.trials == []
    assert result.stop_reason == "nothing in the model is quantizable"
    assert not result.met_goal and result.reason  # the fp32 model gains nothing over itself
    assert result.best_model.config is None


def test_never_returns_none_on_a_near_miss(tmp_path) -> None:
    model = SyntheticModel(6, "few_sensitive", seed=0, n_sensitive=6)
    result = run(model, tmp_path, tolerable_loss=0.0001, max_trials=2)
    assert result is not None and not result.met_goal
    assert result.best_config is not None and result.stop_reason == "max_trials reached"
    assert result.summary()["best_trial"] == result.best_trial.number


def test_timeout_keeps_searching_and_ranks_by_latency(tmp_path) -> None:
    model = SyntheticModel(12, "flat", seed=2)
    config_set = {"dtype": ["bf16", "int8"]}
    result = run(model, tmp_path, timeout=60, max_trials=5, strategy="sequential", config_set=config_set)
    passing = [t for t in result.trials if t.passed]
    assert len(result.trials) == 2 and len(passing) == 2
    assert result.best_trial.number == 2  # int8 is faster than bf16
    assert result.best_trial.latency == min(t.latency for t in passing)
    assert result.best_trial in result.pareto


def test_existing_run_dir_is_not_overwritten(tmp_path) -> None:
    run(SyntheticModel(4), tmp_path)
    with pytest.raises(ConfigError, match="already holds a tuning history"):
        run(SyntheticModel(4), tmp_path)


def test_resume_needs_a_run_dir() -> None:
    with pytest.raises(ConfigError, match="run_dir"):
        autotune(SyntheticModel(4), TuningConfig(strategy="toy"), synthetic_accuracy, resume=True)


def test_resume_replays_history_without_re_evaluating(tmp_path) -> None:
    model = SyntheticModel(10, "few_sensitive", seed=4, n_sensitive=2)
    first = run(model, tmp_path, max_trials=2)
    assert not first.met_goal
    seen = []

    def eval_fn(m):
        seen.append(m.config)
        return synthetic_accuracy(m)

    config = TuningConfig(strategy="toy", run_dir=tmp_path / "run", max_trials=20)
    resumed = autotune(model, config, eval_fn, resume=True)
    assert seen and all(c not in {t.config for t in first.trials} for c in seen[1:])
    assert len([t for t in resumed.trials if t.cached]) == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_trials": -3}, "max_trials"),
        ({"tolerable_loss": "0.01"}, "tolerable_loss"),
        ({"criterion": "percent"}, "criterion"),
        ({"timeout": -1}, "timeout"),
        ({"objectives": {"speed": 1}}, "objectives"),
        ({"op_name_dict": {"(": {"dtype": "fp32"}}}, "op_name_dict"),
        ({"strategy_kwargs": 3}, "strategy_kwargs"),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
def test_bad_tuning_config_names_the_field(kwargs, field) -> None:
    with pytest.raises(ConfigError, match=field):
        TuningConfig(**kwargs)


def test_bad_strategy_option_names_strategy_and_option(tmp_path) -> None:
    with pytest.raises(ConfigError, match="strategy 'toy': unknown option 'depth'"):
        run(SyntheticModel(4), tmp_path, strategy_kwargs={"depth": 3})


def test_constraints_reach_the_space(tmp_path) -> None:
    result = run(SyntheticModel(8, "flat"), tmp_path, op_type_dict={"MatMul": {"dtype": "fp32"}})
    matmuls = [name for name in result.best_config if name.startswith("matmul")]
    assert matmuls and all(result.best_config[n].dtype == "fp32" for n in matmuls)


def test_init_tuning_returns_loader_logger_monitor() -> None:
    loader, logger, monitor = init_tuning(TuningConfig(config_set={"bits": [4, 8]}, max_trials=3))
    assert len(loader) == 2 and monitor.max_trials == 3
    logger.tuning_start()
    monitor.add_trial_result()
    assert monitor.budget_left() == 2


def test_parallel_threads_pick_the_sequential_choice(tmp_path) -> None:
    model = SyntheticModel(16, "many_mild", seed=9)
    seq = run(model, tmp_path / "a", max_trials=20)
    par = run(model, tmp_path / "b", max_trials=20, executor="threads", workers=3)
    assert par.best_config == seq.best_config


def test_explicit_adaptor_instance_counts_quantizations(tmp_path) -> None:
    adaptor = SyntheticAdaptor()
    result = autotune(
        SyntheticModel(4, "flat"), TuningConfig(strategy="toy", run_dir=tmp_path), synthetic_accuracy, adaptor=adaptor
    )
    # one per measured preset; the first trial is the fastest preset, whose built model is reused
    assert len(result.trials) == 1 and adaptor.quantize_calls == len(result.cost_model["presets"])


def test_a_trial_of_a_preset_reuses_the_model_the_cost_model_built(tmp_path) -> None:
    adaptor = SyntheticAdaptor()
    model = SyntheticModel(12, "many_mild", seed=2)
    config = TuningConfig(strategy="random", run_dir=tmp_path, max_trials=6, criterion="absolute", tolerable_loss=0)
    result = autotune(model, config, synthetic_accuracy, adaptor=adaptor)
    presets = len(result.cost_model["presets"])
    assert len(result.trials) == 6
    assert adaptor.quantize_calls == presets + 5  # trial 1 (the default, the top preset) was not re-quantized


def test_resume_with_the_budget_already_spent_keeps_the_best(tmp_path) -> None:
    model = SyntheticModel(12, "flat", seed=1)
    config = TuningConfig(strategy="sequential", config_set={"dtype": ["bf16", "int8"]}, run_dir=tmp_path / "run",
                          timeout=600, max_trials=2)  # fmt: skip
    first = autotune(model, config, synthetic_accuracy)
    assert first.met_goal and len(first.trials) == 2
    resumed = autotune(model, config, synthetic_accuracy, resume=True)
    assert resumed.met_goal and resumed.best_config == first.best_config
    assert resumed.stop_reason == "max_trials reached" and len(resumed.evaluated_trials) == 0
