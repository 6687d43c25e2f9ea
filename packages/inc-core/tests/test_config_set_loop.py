"""The 3.x config-set loop cases from the strategy reference, with scripted scores."""

from __future__ import annotations

import pytest

from inc_core import TuningConfig, autotune
from inc_core.testing import ScriptedEvaluator


def tune(model, adaptor, tmp_path, config_set, scores, **kwargs):
    evaluator = ScriptedEvaluator(scores)
    config = TuningConfig(config_set=config_set, run_dir=tmp_path / "run", objectives={}, **kwargs)
    return autotune(model, config, evaluator, adaptor=adaptor), evaluator


def test_always_passing_eval_needs_one_trial(conv_model, adaptor, tmp_path) -> None:
    result, _ = tune(conv_model, adaptor, tmp_path, {"bits": [4, 6]}, [1.0])
    assert len(result.trials) == 1 and result.met_goal


def test_second_config_passes_and_is_returned_quantized_twice(conv_model, adaptor, tmp_path) -> None:
    result, _ = tune(conv_model, adaptor, tmp_path, {"bits": [4, 6]}, [0.9, 1.1])
    assert len(result.trials) == 2 and result.met_goal
    assert result.best_trial.number == 2
    assert {o.bits for o in result.best_config.values()} == {6}
    assert adaptor.quantize_calls == 2  # the passing model is kept, not re-quantized
    assert result.best_model.config == result.best_config


def test_no_pass_returns_the_best_trial_without_requantizing(conv_model, adaptor, tmp_path) -> None:
    result, _ = tune(conv_model, adaptor, tmp_path, {"bits": [4, 6]}, [0.9, 0.8])
    assert not result.met_goal and result.best_trial.number == 1
    assert {o.bits for o in result.best_config.values()} == {4}
    assert result.best_model.config == result.best_config
    assert adaptor.quantize_calls == 2


def test_stops_at_the_first_passing_trial(conv_model, adaptor, tmp_path) -> None:
    result, _ = tune(conv_model, adaptor, tmp_path, {"bits": [4, 6, 5, 8]}, [0.9, 0.9, 0.99], max_trials=6)
    assert len(result.trials) == 3 and result.best_trial.number == 3


def test_larger_tolerance_stops_at_trial_one(conv_model, adaptor, tmp_path) -> None:
    result, _ = tune(conv_model, adaptor, tmp_path, {"bits": [4, 6, 5, 8]}, [0.9], tolerable_loss=0.1)
    assert len(result.trials) == 1 and result.met_goal


def test_all_failing_runs_every_config_and_returns_the_first(conv_model, adaptor, tmp_path) -> None:
    result, _ = tune(conv_model, adaptor, tmp_path, {"bits": [4, 6, 5, 8]}, [0.9])
    assert len(result.trials) == 4 and not result.met_goal
    assert result.best_trial.number == 1
    assert result.stop_reason.startswith("the strategy has no more")


def test_duplicates_in_the_set_still_run_every_distinct_config(conv_model, adaptor, tmp_path) -> None:
    result, evaluator = tune(conv_model, adaptor, tmp_path, [{"bits": [4, 6]}, {"bits": [6, 5]}, {"bits": 4}], [0.5])
    assert len(result.trials) == 3
    assert len(set(evaluator.trial_configs)) == 3


def test_mixed_precision_dtype_list(conv_model, adaptor, tmp_path) -> None:
    result, _ = tune(conv_model, adaptor, tmp_path, {"dtype": ["fp16", "bf16", "fp32"]}, [0.9, 0.99])
    assert len(result.trials) == 2 and result.met_goal
    assert {o.dtype for o in result.best_config.values()} == {"bf16"}


def test_composed_config_keeps_the_per_op_override(conv_model, adaptor, tmp_path) -> None:
    override = {"conv_0": {"dtype": "fp32"}}
    result, _ = tune(conv_model, adaptor, tmp_path, {"dtype": "bf16", "op_name_dict": override}, [1.0])
    assert result.best_config["conv_0"].dtype == "fp32"
    assert result.best_config["conv_1"].dtype == "bf16"


@pytest.mark.parametrize("timeout", [0, 30])
def test_timeout_decides_whether_to_keep_searching(conv_model, adaptor, tmp_path, timeout) -> None:
    result, _ = tune(conv_model, adaptor, tmp_path, {"bits": [8, 4, 6]}, [1.0], timeout=timeout)
    assert len(result.trials) == (1 if timeout == 0 else 3)
