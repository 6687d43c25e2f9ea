"""bayesian's GP helpers and the black-box strategies' batches (bayesian, tpe)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inc_core import TuningSpace
from inc_core.testing import ScriptedEvaluator, SyntheticAdaptor, SyntheticModel
from inc_strategies.bayesian import BayesianTuneStrategy
from inc_strategies.gaussian_process import (
    MaternPosterior,
    TargetSpace,
    acq_max,
    fit_length_scale,
    upper_confidence_bound,
)
from inc_strategies.tpe import TpeTuneStrategy


def _x1_squared_plus_x2(x: np.ndarray) -> float:
    return float(x[0] ** 2 + x[1])


def test_corner_of_x1_squared_plus_x2_within_ten_suggestions_scipy_gp() -> None:
    space = TargetSpace({"x1": (0, 1), "x2": (0, 1)}, random_seed=9527)
    for _ in range(10):
        if len(set(space.target)) < 2:
            x = space.random_sample()
        else:
            y = (space.target - space.target.mean()) / space.target.std()
            posterior = MaternPosterior(space.params, y, fit_length_scale(space.params, y))
            x = acq_max(upper_confidence_bound(), posterior, float(y.max()), space.bounds, space.random_state)
        if x in space:
            x = space.random_sample()
        space.register(x, _x1_squared_plus_x2(x))
    assert space.max()["target"] == pytest.approx(2.0, abs=1e-6)
    assert space.max()["params"] == pytest.approx({"x1": 1.0, "x2": 1.0})
    assert len(space.res()) == len({tuple(p) for p in space.params}) == 10


def test_target_space_register_get_and_duplicates() -> None:
    space = TargetSpace({"b": (0, 2), "a": (0, 1)}, random_seed=1)
    assert space.keys == ["a", "b"] and space.max() == {}
    space.register({"a": 0.5, "b": 1.5}, 3.0)
    space.register([0.25, 0.5], 4.0)
    assert space.get_target([0.5, 1.5]) == 3.0 and space.get_target({"a": 0.25, "b": 0.5}) == 4.0
    assert space.max() == {"target": 4.0, "params": {"a": 0.25, "b": 0.5}}
    assert [r["target"] for r in space.res()] == [3.0, 4.0]
    with pytest.raises(KeyError):
        space.register({"a": 0.5, "b": 1.5}, 1.0)
    with pytest.raises(KeyError):
        space.get_target([0.0, 0.0])
    a, b = TargetSpace({"x": (0, 1)}, 7), TargetSpace({"x": (0, 1)}, 7)
    assert [a.random_sample()[0] for _ in range(3)] == [b.random_sample()[0] for _ in range(3)]


def test_posterior_matches_scikit_learn_and_its_gradient_is_exact() -> None:
    gp_module = pytest.importorskip("sklearn.gaussian_process")
    kernels = pytest.importorskip("sklearn.gaussian_process.kernels")
    rng = np.random.default_rng(0)
    x, y, queries = rng.uniform(0, 3, (20, 5)), rng.normal(size=20), rng.uniform(0, 3, (7, 5))
    reference = gp_module.GaussianProcessRegressor(kernels.Matern(length_scale=1.3, nu=2.5), alpha=1e-6, optimizer=None)
    reference.fit(x, y)
    posterior = MaternPosterior(x, y, 1.3)
    ours, theirs = posterior.predict(queries, return_std=True), reference.predict(queries, return_std=True)
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-8)
    np.testing.assert_allclose(ours[1], theirs[1], atol=1e-8)
    _, _, dmean, dstd = posterior.predict_with_gradient(queries[0])
    eps = 1e-6
    for i in range(5):
        step = np.zeros(5)
        step[i] = eps
        (m_hi, s_hi), (m_lo, s_lo) = (posterior.predict(queries[0] + d, return_std=True) for d in (step, -step))
        assert dmean[i] == pytest.approx((m_hi[0] - m_lo[0]) / (2 * eps), abs=1e-6)
        assert dstd[i] == pytest.approx((s_hi[0] - s_lo[0]) / (2 * eps), abs=1e-6)


def test_length_scale_fit_prefers_smooth_for_smooth_data() -> None:
    x = np.linspace(0, 10, 15)[:, None]
    smooth = fit_length_scale(x, (np.sin(x[:, 0] / 3) - 0.0) / 0.7)
    rough = fit_length_scale(x, np.random.default_rng(0).normal(size=15))
    assert smooth > rough and rough >= 1e-2 and math.isfinite(smooth)


def test_acq_max_is_seeded_and_stays_in_bounds() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 4, (8, 3)), rng.normal(size=8)
    posterior = MaternPosterior(x, y, 1.0)
    bounds = np.array([[0.0, 4.0]] * 3)
    first = acq_max(upper_confidence_bound(), posterior, 1.0, bounds, 5, n_warmup=500, n_iter=3)
    again = acq_max(upper_confidence_bound(), posterior, 1.0, bounds, 5, n_warmup=500, n_iter=3)
    np.testing.assert_array_equal(first, again)
    assert np.all(first >= 0) and np.all(first <= 4)


def test_a_point_at_the_upper_bound_decodes_to_the_last_choice(context_for) -> None:
    model = SyntheticModel(2, "flat", op_types=("MatMul",))
    space = TuningSpace(SyntheticAdaptor().capability(model))
    strategy = BayesianTuneStrategy(space, context_for(model))
    dims = strategy._dimensions()
    upper = np.array([float(len(choices)) for _, choices in dims])
    config = strategy._decode(upper, dims, space.default_config())
    assert space.contains(config)
    assert [config[n] for n in model.names] == [space.op(n).options[-1] for n in model.names]
    assert strategy._decode(np.zeros(len(dims)), dims, space.default_config()) == space.default_config()


@pytest.mark.parametrize("cls", [BayesianTuneStrategy, TpeTuneStrategy])
def test_ask_n_proposes_a_whole_batch_at_once(cls, context_for) -> None:
    model = SyntheticModel(6, "many_mild", seed=1)
    space = TuningSpace(SyntheticAdaptor().capability(model))
    strategy = cls(space, context_for(model))
    proposals = strategy.ask(8)
    assert len(proposals) == 4 == len({p.config for p in proposals})  # batch_size 4, then wait for results
    assert strategy.ask(8) == []
    assert all(space.contains(p.config) for p in proposals)


@pytest.mark.parametrize("strategy", ["tpe", "bayesian"])
@pytest.mark.parametrize("scores", [[0.0], [0.0, 0.5, 1.0]])
def test_black_box_strategies_survive_zero_scores_and_a_zero_baseline(tune_scripted, tmp_path, strategy, scores):
    model = SyntheticModel(4, "flat")
    result, _, _ = tune_scripted(strategy, model, scores, tmp_path / "zero", max_trials=12)
    assert result.trials and result.best_config is not None
    result, _, _ = tune_scripted(
        strategy, model, [0.0], tmp_path / "base0", baseline=0.0, criterion="absolute", max_trials=6
    )
    assert result.met_goal and len(result.trials) == 1


def test_tpe_loss_is_latency_when_passing_and_a_penalty_otherwise(tmp_path, context_for) -> None:
    model = SyntheticModel(8, "few_sensitive", seed=2)
    evaluator = ScriptedEvaluator([0.5, 0.995, 0.999, 0.5], baseline=1.0)
    from inc_core import TuningConfig, autotune

    result = autotune(
        model,
        TuningConfig(strategy="tpe", run_dir=tmp_path, max_trials=4, timeout=600),
        evaluator,
        adaptor=SyntheticAdaptor(),
    )
    passing = [t for t in result.trials if t.passed]
    assert len(passing) == 2 and result.best_trial.latency == min(t.latency for t in passing)
    strategy = TpeTuneStrategy(TuningSpace(SyntheticAdaptor().capability(model)), context_for(model))
    losses = [strategy._loss(t) for t in result.trials]
    assert losses[0] > 1000 > max(losses[1], losses[2]) and losses[3] > 1000
