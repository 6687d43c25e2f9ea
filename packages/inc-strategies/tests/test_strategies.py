from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inc_core import ConfigError, NotSupportedError, TuningConfig, TuningSpace, autotune
from inc_core.plugins import get_plugin_manager
from inc_core.testing import SyntheticAdaptor, SyntheticModel, synthetic_accuracy
from inc_strategies.auto import AutoTuneStrategy
from inc_strategies.bayesian import TargetSpace, acq_max, upper_confidence_bound

STRATEGIES = ("auto", "basic", "conservative", "mse", "mse_v2", "hawq_v2", "exhaustive", "random", "bayesian", "tpe")


def test_every_strategy_is_registered_by_the_plugin() -> None:
    registry = get_plugin_manager().strategies
    for name in STRATEGIES:
        assert registry.get(name).source == "inc-strategies"
    assert registry.get("auto").cls is AutoTuneStrategy


def run(strategy, model, tmp_path, adaptor=None, **kwargs):
    config = TuningConfig(strategy=strategy, run_dir=tmp_path, **kwargs)
    return autotune(model, config, synthetic_accuracy, adaptor=adaptor or SyntheticAdaptor())


@pytest.mark.filterwarnings("ignore:exhaustive")
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_goal_not_reachable_gives_best_so_far(tmp_path, strategy) -> None:
    model = SyntheticModel(12, "many_mild", seed=4)
    result = run(strategy, model, tmp_path, criterion="absolute", tolerable_loss=0, max_trials=15)
    assert not result.met_goal and result.best_trial is not None
    assert result.best_trial.score == max(t.score for t in result.trials if t.score is not None)


@pytest.mark.parametrize("strategy", ["auto", "basic", "mse", "mse_v2", "hawq_v2", "random", "tpe"])
def test_reaches_a_goal_that_needs_fallback(tmp_path, strategy) -> None:
    model = SyntheticModel(24, "few_sensitive", seed=3, n_sensitive=2)
    result = run(strategy, model, tmp_path, max_trials=200)
    assert result.met_goal, f"{strategy}: {result.stop_reason}"
    assert result.best_config.float_ops(), "the goal needs at least one op in float"


def test_auto_needs_far_fewer_trials_than_basic_on_few_sensitive_ops(tmp_path) -> None:
    model = SyntheticModel(300, "few_sensitive", seed=5)
    auto = run("auto", model, tmp_path / "auto", max_trials=1000)
    basic = run("basic", model, tmp_path / "basic", max_trials=1000)
    assert auto.met_goal and basic.met_goal
    assert len(auto.trials) * 2 <= len(basic.trials)
    assert len(auto.trials) <= 2 * np.log2(300) + 6


def test_auto_with_time_left_refines_towards_lower_latency(tmp_path) -> None:
    model = SyntheticModel(64, "few_sensitive", seed=6)
    quick = run("auto", model, tmp_path / "quick", max_trials=100)
    refined = run("auto", model, tmp_path / "refined", max_trials=100, timeout=600)
    assert refined.met_goal and len(refined.trials) > len(quick.trials)
    assert refined.best_trial.latency <= quick.best_trial.latency
    assert len(refined.best_config.float_ops()) <= len(quick.best_config.float_ops())


def test_auto_plan_is_printable() -> None:
    plan = AutoTuneStrategy.plan(AutoTuneStrategy.__new__(AutoTuneStrategy))
    assert plan[0].startswith("1. default") and any("bisect" in line for line in plan)


class NoSensitivity(SyntheticAdaptor):
    def op_sensitivity(self, *args, **kwargs):
        raise NotSupportedError("synthetic without sensitivity")


def test_auto_without_sensitivity_falls_back_to_basic_order(tmp_path) -> None:
    model = SyntheticModel(16, "few_sensitive", seed=7, n_sensitive=1)
    result = run("auto", model, tmp_path, adaptor=NoSensitivity(), max_trials=100, strategy_kwargs={"max_presets": 0})
    assert result.met_goal
    assert any(t.stage.startswith("one-by-one") for t in result.trials)


def test_mse_without_sensitivity_warns_and_falls_back_bottom_up(tmp_path, caplog) -> None:
    model = SyntheticModel(12, "few_sensitive", seed=7, n_sensitive=1)
    result = run("mse", model, tmp_path, adaptor=NoSensitivity(), max_trials=100)
    assert result.met_goal and "falling back in bottom-up order" in caplog.text
    first_single = next(t for t in result.trials if t.stage.startswith("one-by-one"))
    assert first_single.config.float_ops() == [model.names[-1]]


def test_mse_v2_without_sensitivity_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="strategy 'mse_v2' needs per-op fallback gains"):
        run("mse_v2", SyntheticModel(8, "few_sensitive", seed=1), tmp_path, adaptor=NoSensitivity())


def test_hawq_v2_without_hessian_support_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="strategy 'hawq_v2' needs Hessian-trace sensitivity"):
        run("hawq_v2", SyntheticModel(8, "few_sensitive", seed=1), tmp_path, adaptor=NoSensitivity())


@pytest.mark.parametrize(
    ("strategy", "options", "message"),
    [
        ("auto", {"fallback": "fp32"}, "strategy 'auto': unknown option 'fallback'"),
        ("basic", {"max_op_type_wise": "3"}, "strategy 'basic': option 'max_op_type_wise' must be int"),
        ("tpe", {"n_startup_trials": 2.5}, "strategy 'tpe': option 'n_startup_trials' must be int"),
        ("random", {"seed": 3}, "strategy 'random': unknown option 'seed'; valid options: none"),
    ],
)
def test_bad_options_name_strategy_and_option(tmp_path, strategy, options, message) -> None:
    with pytest.raises(ConfigError, match=message):
        run(strategy, SyntheticModel(4), tmp_path, strategy_kwargs=options)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_empty_space_returns_fp32_with_a_reason(tmp_path, strategy) -> None:
    result = run(strategy, SyntheticModel(0), tmp_path)
    assert result.stop_reason == "nothing in the model is quantizable" and result.trials == []
    assert not result.met_goal and result.best_model.config is None  # fp32 gains nothing over itself


def test_exhaustive_warns_with_the_space_size(tmp_path) -> None:
    model = SyntheticModel(3, "flat", op_types=("Conv", "Gemm"))
    size = TuningSpace(SyntheticAdaptor().capability(model)).size()
    with pytest.warns(UserWarning, match=rf"exhaustive: the tuning space has {size:,} configs but max_trials is 5"):
        run("exhaustive", model, tmp_path, max_trials=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run("exhaustive", SyntheticModel(1, "flat", op_types=("Add",)), tmp_path / "small", max_trials=20)


def test_random_is_seeded(tmp_path) -> None:
    model = SyntheticModel(10, "many_mild", seed=2)
    a = run("random", model, tmp_path / "a", max_trials=6, criterion="absolute", tolerable_loss=0, random_seed=3)
    b = run("random", model, tmp_path / "b", max_trials=6, criterion="absolute", tolerable_loss=0, random_seed=3)
    c = run("random", model, tmp_path / "c", max_trials=6, criterion="absolute", tolerable_loss=0, random_seed=4)
    assert [t.config for t in a.trials] == [t.config for t in b.trials] != [t.config for t in c.trials]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bayesian_helpers_find_the_corner_with_a_scikit_learn_gp() -> None:
    """`acq_max` takes any regressor with ``predict(x, return_std=True)`` (finite differences then)."""
    GaussianProcessRegressor = pytest.importorskip("sklearn.gaussian_process").GaussianProcessRegressor  # noqa: N806
    Matern = pytest.importorskip("sklearn.gaussian_process.kernels").Matern  # noqa: N806

    space = TargetSpace({"x1": (0, 1), "x2": (0, 1)}, random_seed=9527)
    gp = GaussianProcessRegressor(kernel=Matern(nu=2.5), alpha=1e-6, normalize_y=True, random_state=9527)
    for _ in range(10):
        if len(set(space.target)) < 2:
            x = space.random_sample()
        else:
            gp.fit(space.params, space.target)
            x = acq_max(upper_confidence_bound(), gp, space.target.max(), space.bounds, space.random_state)
        if x in space:
            x = space.random_sample()
        space.register(x, x[0] ** 2 + x[1])
    assert space.max()["target"] == pytest.approx(2.0, abs=1e-6)
    assert len(space.res()) == 10
    with pytest.raises(KeyError):
        space.register(space.params[0], 0.0)
    assert space.get_target(space.params[0]) == space.target[0]


MODEL = SyntheticModel(20, "few_sensitive", seed=11, n_sensitive=3)
GENERATOR_STYLE = ["auto", "basic", "conservative", "mse", "mse_v2", "hawq_v2", "exhaustive", "random"]


def hypothesis_settings(examples: int) -> settings:
    """Few examples (CI budget); the fixtures only hand out pure functions, so sharing them is safe."""
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _choice(strategy):
    return strategy.best_trial.config if strategy.best_trial else None


def _check_order_independence(driver, name, workers, seed, timeout, max_trials):
    cls = get_plugin_manager().strategies.get(name).cls
    sequential, seq_props, space = driver(cls, MODEL, 1, random.Random(0), timeout, max_trials)
    shuffled, props, _ = driver(cls, MODEL, workers, random.Random(seed), timeout, max_trials)
    assert len(set(props)) == len(props), f"{name}: a config was proposed twice"
    assert all(space.contains(c) for c in props), f"{name}: a proposal outside the space"
    if timeout == 0 and _choice(shuffled) != _choice(sequential):
        # Stopping at the first pass, a parallel run also keeps results already in: a later
        # proposal that arrived early may beat the first pass, never lose to it.
        best, first = shuffled.best_trial, sequential.best_trial
        assert best is not None and first is not None and best.passed, f"{name}: the choice depends on arrival order"
        assert shuffled.book.better(best, first), f"{name}: a parallel run kept a worse result"
        assert best.seq > first.seq, f"{name}: the choice depends on arrival order"
    else:
        assert _choice(shuffled) == _choice(sequential), f"{name}: the choice depends on arrival order"
    if name in ("bayesian", "tpe"):  # fixed-size rounds: exactly the sequential proposals
        assert props[: len(seq_props)] == seq_props[: len(props)], f"{name}: proposals depend on the worker count"
    elif len(props) < max_trials:  # parallel runs may add speculative batch members, never drop or reorder
        remaining = iter(props)
        assert all(c in remaining for c in seq_props), f"{name}: a sequential proposal is missing in parallel"


@pytest.mark.filterwarnings("ignore:exhaustive. the tuning space")
@hypothesis_settings(20)
@given(st.sampled_from(GENERATOR_STYLE), st.integers(2, 6), st.integers(0, 10_000), st.sampled_from([0.0, 600.0]))
def test_choice_does_not_depend_on_arrival_order(driver, name, workers, seed, timeout) -> None:
    _check_order_independence(driver, name, workers, seed, timeout, max_trials=60)


@hypothesis_settings(4)
@given(st.sampled_from(["bayesian", "tpe"]), st.integers(2, 8), st.integers(0, 10_000))
def test_black_box_choice_does_not_depend_on_arrival_order(driver, name, workers, seed) -> None:
    _check_order_independence(driver, name, workers, seed, timeout=600.0, max_trials=14)


def test_importing_the_plugin_and_every_strategy_module_imports_no_scipy_or_optuna() -> None:
    import subprocess
    import sys

    code = (
        "import sys, inc_strategies.plugin\n"
        "from inc_core.plugins import get_plugin_manager\n"
        "get_plugin_manager().strategies.get('tpe')\n"
        f"for name in {list(STRATEGIES)!r}: __import__('inc_strategies.' + name)\n"
        "heavy = [m for m in ('scipy', 'optuna', 'sklearn', 'torch', 'onnxruntime') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.filterwarnings("ignore:exhaustive")
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_starts_with_the_default_config(tmp_path, strategy) -> None:
    model = SyntheticModel(10, "few_sensitive", seed=2)
    adaptor = SyntheticAdaptor()
    result = run(strategy, model, tmp_path, adaptor=adaptor, max_trials=3)
    default = TuningSpace(adaptor.capability(model)).default_config()  # static int8 is the fastest preset here
    assert result.trials[0].config == default and not result.trials[0].cached


@pytest.mark.filterwarnings("ignore:exhaustive")
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_no_strategy_reports_met_without_the_gain_and_none_evaluates_all_float(tmp_path, strategy) -> None:
    model = SyntheticModel(8, "many_mild", seed=1)
    result = run(strategy, model, tmp_path, min_gain=4.0, max_trials=25)  # nothing is 5x faster than fp32
    assert not result.met_goal and not any(t.met for t in result.trials)
    assert result.reason and ("faster" in result.reason or "passed" in result.reason)
    evaluated = [t for t in result.trials if not t.cached]
    assert evaluated and all(t.config.reduces_precision() for t in evaluated)


@pytest.mark.parametrize("strategy", ["random", "tpe", "bayesian", "exhaustive"])
def test_black_box_strategies_sample_only_the_pruned_space(tmp_path, strategy) -> None:
    # static and bf16 are slower than fp32 here: they leave the default space
    model = SyntheticModel(6, "many_mild", seed=3, op_types=("MatMul",), speed={"static": 2.5, "bf16": 1.6})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run(strategy, model, tmp_path, max_trials=12)
    assert result.cost_model["presets"]["static"]["speedup"] < 1
    modes = {o.mode for t in result.trials for o in t.config.values()}
    dtypes = {o.dtype for t in result.trials for o in t.config.values()}
    assert "static" not in modes and "bf16" not in dtypes and "dynamic" in modes


class CountingSensitivity(SyntheticAdaptor):
    """Records how many ops each ``mse_v2`` request asks about."""

    def __init__(self) -> None:
        super().__init__(noise=0.0)
        self.mse_v2_sizes: list[int] = []

    def op_sensitivity(self, model, tune_cfg, calibration, method="mse", ops=None):
        if method == "mse_v2":
            self.mse_v2_sizes.append(len(ops) if ops is not None else len(model.names))
        return super().op_sensitivity(model, tune_cfg, calibration, method, ops)


def test_mse_v2_measures_fallback_gains_only_for_the_mse_shortlist(tmp_path) -> None:
    model = SyntheticModel(40, "few_sensitive", seed=5, n_sensitive=3)
    adaptor = CountingSensitivity()
    result = run("mse_v2", model, tmp_path, adaptor=adaptor, max_trials=40, strategy_kwargs={"candidates": 5})
    assert result.met_goal and adaptor.mse_v2_sizes
    assert max(adaptor.mse_v2_sizes) <= 5  # not one build per op of the 40
    hot = set(np.argsort(model.sensitivity)[-3:])
    assert {model.names.index(n) for n in result.best_config.float_ops()} <= hot
