from __future__ import annotations

import math

import numpy as np
import pytest

from inc_core import ConfigError, Criterion, Evaluator, TrialError


def acc(model):
    return model["acc"]


def lat(model):
    return model["lat"]


@pytest.mark.parametrize(
    "spec",
    [acc, {"eval_fn": acc}, {"eval_fn": acc, "weight": 1.0, "name": "top1"}, [{"eval_fn": acc, "name": "a"}]],
)
def test_four_forms(spec) -> None:
    evaluator = Evaluator(spec)
    assert len(evaluator.metrics) == 1
    metrics = evaluator.evaluate({"acc": 0.5})
    assert list(metrics.values()) == [0.5]


def test_unweighted_metrics_each_pass_their_own_rule() -> None:
    evaluator = Evaluator(
        [{"eval_fn": acc, "name": "acc"}, {"eval_fn": lat, "name": "lat", "higher_is_better": False}],
        Criterion(0.1),
    )
    baseline = {"acc": 1.0, "lat": 1.0}
    assert evaluator.passes({"acc": 0.95, "lat": 1.05}, baseline)
    assert not evaluator.passes({"acc": 0.95, "lat": 1.2}, baseline)  # latency got 20% worse
    assert not evaluator.passes({"acc": 0.8, "lat": 0.5}, baseline)


def test_weighted_metrics_compare_weighted_sums() -> None:
    evaluator = Evaluator(
        [{"eval_fn": acc, "weight": 0.75, "name": "a"}, {"eval_fn": lat, "weight": 0.25, "name": "b"}]
    )
    baseline = {"a": 1.0, "b": 1.0}
    assert evaluator.score({"a": 1.0, "b": 0.0}) == pytest.approx(0.75)
    assert evaluator.passes({"a": 1.0, "b": 0.97}, baseline)  # 0.9925 >= 0.99
    assert not evaluator.passes({"a": 0.98, "b": 0.98}, baseline)


@pytest.mark.parametrize("value", [math.nan, math.inf, "high", None])
def test_non_numbers_are_trial_errors(value) -> None:
    with pytest.raises(TrialError, match="acc"):
        Evaluator(acc).evaluate({"acc": value})


def test_numpy_scalars_are_accepted() -> None:
    assert Evaluator(acc).evaluate({"acc": np.float32(0.25)}) == {"accuracy": 0.25}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (42, "eval_fn must be"),
        ({"eval_fn": 3}, "callable"),
        ({"eval_fn": acc, "weigth": 1}, "unknown key"),
        ({"eval_fn": acc, "weight": -1}, "non-negative"),
        ([{"eval_fn": acc, "name": "x"}, {"eval_fn": lat, "name": "x"}], "unique"),
    ],
)
def test_bad_specs(spec, message) -> None:
    with pytest.raises(ConfigError, match=message):
        Evaluator(spec)
