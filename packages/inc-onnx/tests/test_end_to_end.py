"""End-to-end tuning of the shipped examples and of edge-case models (real ORT, no mocks)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from inc_core import AdaptorError, Calibration, ConfigError, TuneConfig, TuningConfig, autotune, get_plugin_manager
from inc_onnx.adaptor import OnnxAdaptor
from inc_onnx.testing import cnn_calib, cnn_model, no_quantizable_model

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
PLANNED_STRATEGIES = ("auto", "basic", "conservative", "mse")


def _example(name: str) -> tuple[Path, Path, Any]:
    directory = EXAMPLES / name
    spec = importlib.util.spec_from_file_location(f"{name}_evaluate", directory / "evaluate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = next(directory.glob("*.onnx"))
    return model, directory / "calib.npz", module.accuracy


DIGITS = _example("onnx_digits")
OUTLIER = _example("onnx_outlier_mlp")


def _tune(example, tmp_path: Path, adaptor: OnnxAdaptor | None = None, **config: Any):
    model, calib, accuracy = example
    config.setdefault("max_trials", 40)
    # The example models run in tens of microseconds, where int8 is not faster than fp32 on a
    # CPU (measured); they are 4x smaller, so the goal here is model size, which is deterministic.
    config.setdefault("objectives", {"model_size": 1.0})
    tuning = TuningConfig(tolerable_loss=0.01, run_dir=tmp_path / "run", **config)
    return autotune(str(model), tuning, accuracy, calib_data=str(calib), adaptor=adaptor)


def _check_result(result, example) -> None:
    _, _, accuracy = example
    assert result.met_goal, [(t.number, t.score, t.error) for t in result.trials]
    assert result.best_trial is not None and result.best_trial.score >= result.target_score
    assert result.model_path is not None and result.model_path.suffix == ".onnx"
    saved = onnx.load(str(result.model_path))
    onnx.checker.check_model(saved)
    assert accuracy(saved) == pytest.approx(result.best_trial.score)


@pytest.mark.parametrize("strategy", ["toy", "sequential"])
def test_digits_meets_the_goal(tmp_path: Path, strategy: str) -> None:
    extra = {"config_set": [{"mode": "static"}]} if strategy == "sequential" else {}
    adaptor = OnnxAdaptor(repetitions=5, warmup=1)
    result = _tune(DIGITS, tmp_path, adaptor, strategy=strategy, **extra)
    _check_result(result, DIGITS)
    assert len(result.trials) == 1  # full int8 already within 1% on the digits CNN
    assert result.best_config is not None and not result.best_config.float_ops()
    assert result.best_trial.model_size < result.baseline_size / 2
    assert adaptor.calibration_count == 1


def test_outlier_mlp_needs_fallback_toy(tmp_path: Path) -> None:
    adaptor = OnnxAdaptor(repetitions=5, warmup=1)
    result = _tune(OUTLIER, tmp_path, adaptor, strategy="toy")
    _check_result(result, OUTLIER)
    first = result.trials[0]
    assert first.config.float_ops() == [] and not first.passed  # full int8 loses more than 1%
    assert result.best_config.float_ops()
    assert adaptor.calibration_count == 1 and len(result.trials) >= 2


def test_outlier_mlp_sequential_config_set(tmp_path: Path) -> None:
    """A 3.x-style config set: full int8 with minmax, two fallbacks, then entropy calibration."""
    config_set = [
        {"mode": "static", "act_algorithm": "minmax"},
        {"mode": "static", "op_name_dict": {"relu2": {"dtype": "fp32", "mode": "float"}}},
        {"mode": "static", "op_name_dict": {"relu2|rescale": {"dtype": "fp32", "mode": "float"}}},
        {"mode": "static", "act_algorithm": "entropy"},
    ]
    adaptor = OnnxAdaptor(repetitions=5, warmup=1)
    result = _tune(OUTLIER, tmp_path, adaptor, strategy="sequential", config_set=config_set, timeout=600)
    _check_result(result, OUTLIER)
    assert [t.passed for t in result.trials] == [False, False, True, True]
    # entropy calibration clips the outlier that minmax keeps: full int8 passes with it
    entropy = result.trials[3]
    assert entropy.config.float_ops() == [] and entropy.config.recipes["act_algorithm"] == "entropy"
    # same size (relu2 and rescale hold no weights): the higher score wins
    assert sorted(result.best_config.float_ops()) == ["relu2", "rescale"]
    assert adaptor.calibration_count == 2  # minmax once (3 trials), entropy once


@pytest.mark.slow
@pytest.mark.parametrize("example", [DIGITS, OUTLIER], ids=["digits", "outlier_mlp"])
@pytest.mark.parametrize("strategy", PLANNED_STRATEGIES)
def test_inc_strategies_tune_the_examples(tmp_path: Path, strategy: str, example) -> None:
    if strategy not in get_plugin_manager().strategies.names():
        pytest.skip(f"strategy {strategy!r} is not registered yet (inc-strategies); installed: "
                    f"{get_plugin_manager().strategies.names()}")  # fmt: skip
    adaptor = OnnxAdaptor(repetitions=5, warmup=1)
    result = _tune(example, tmp_path, adaptor, strategy=strategy, max_trials=60)
    _check_result(result, example)
    assert adaptor.calibration_count <= 4  # once per calibration setting tried, never per trial


def test_model_without_quantizable_nodes_returns_fp32(tmp_path: Path) -> None:
    model = no_quantizable_model()
    x = np.ones((3, 4), np.float32)

    def score(m: onnx.ModelProto) -> float:
        from inc_onnx import session

        return float(session(m).run(None, {"x": x})[0].sum() != 0)

    result = autotune(model, TuningConfig(strategy="toy", run_dir=tmp_path / "run"), score, calib_data={"x": x})
    assert result.stop_reason == "nothing in the model is quantizable"
    assert not result.met_goal and "quantizable" in result.reason  # nothing can beat fp32
    assert result.best_config is None and not result.trials
    assert result.best_model is model


class _FailOnFullStatic(OnnxAdaptor):
    """An adaptor whose quantizer fails on one config, as ORT's quantizers sometimes do."""

    def quantize(self, model: Any, tune_cfg: TuneConfig, calibration: Any) -> Any:
        if tune_cfg.ops["conv"].get("mode") == "static" and not tune_cfg.float_ops():
            raise AdaptorError("quantizer failed on node 'conv' (Conv): unsupported setting")
        return super().quantize(model, tune_cfg, calibration)


def test_a_failing_trial_does_not_stop_the_run(tmp_path: Path) -> None:
    model = cnn_model()
    calib = cnn_calib()

    def score(m: onnx.ModelProto) -> float:
        from inc_onnx import session

        return float(session(m).run(None, calib)[0].argmax(1).mean())

    result = autotune(
        model,
        TuningConfig(
            strategy="sequential",
            config_set=[{"mode": "static"}, {"mode": "static", "op_name_dict": {"conv": {"dtype": "fp32"}}}],
            run_dir=tmp_path / "run",
            tolerable_loss=0.5,
            min_gain=None,
        ),
        score,
        calib_data=calib,
        adaptor=_FailOnFullStatic(repetitions=2, warmup=0),
    )
    assert result.trials[0].error and "quantizer failed on node 'conv'" in result.trials[0].error
    assert len(result.trials) == 2 and result.trials[1].error is None and result.met_goal


def test_calibration_mismatch_stops_before_trials(tmp_path: Path) -> None:
    model, _, accuracy = DIGITS
    bad = {"input": np.zeros((8, 64), np.float32)}
    with pytest.raises(ConfigError, match=r"input 'input' has rank 2 .*float32 of rank 4"):
        autotune(str(model), TuningConfig(strategy="toy", run_dir=tmp_path / "run"), accuracy, calib_data=bad)


def test_load_error_reaches_the_user(tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x00\x01 definitely not onnx")
    with pytest.raises(AdaptorError, match=r"broken\.onnx"):
        autotune(str(broken), TuningConfig(strategy="toy", run_dir=tmp_path / "run"), lambda m: 1.0)


@pytest.mark.parametrize("executor", ["threads", "process"])
def test_parallel_executors(tmp_path: Path, executor: str) -> None:
    from inc_onnx.testing import ArgmaxAgreement

    model = cnn_model()
    calib = cnn_calib(64)
    score = ArgmaxAgreement(model, cnn_calib(32, seed=5))
    # A loose budget: which options come first follows the cost model's timing of a 30 µs model
    # (noise), and this test is about the executors, not about that order.
    config = TuningConfig(strategy="toy", run_dir=tmp_path / "run", executor=executor, workers=2, tolerable_loss=0.1,
                          min_gain=None)  # fmt: skip
    result = autotune(model, config, score, calib_data=calib)
    assert result.met_goal and result.trials and all(t.error is None for t in result.trials)
    assert result.model_path is not None and result.model_path.is_file()


def test_one_shot_calibration_iterator_serves_benchmark_and_calibration(tmp_path: Path) -> None:
    from inc_onnx.testing import ArgmaxAgreement

    model = cnn_model()
    data = cnn_calib(64)
    batches = iter([{"x": data["x"][i : i + 16]} for i in range(0, 64, 16)])
    score = ArgmaxAgreement(model, cnn_calib(32, seed=5))
    # A loose budget, as in test_parallel_executors: the option order follows noisy timings of a tiny model.
    config = TuningConfig(strategy="toy", run_dir=tmp_path / "run", tolerable_loss=0.1, min_gain=None)
    result = autotune(model, config, score, calib_data=batches)
    assert result.met_goal and result.trials[0].error is None and result.baseline_latency


def test_auto_tries_calibration_methods_before_falling_back(tmp_path: Path) -> None:
    """The outlier MLP fails full static int8 with minmax; a clipping calibration passes with no op in float."""
    result = _tune(OUTLIER, tmp_path, strategy="auto", global_constraint={"mode": "static"})
    _check_result(result, OUTLIER)
    assert result.met_goal and result.best_config.float_ops() == []
    assert result.best_config.recipes["act_algorithm"] in ("entropy", "percentile")
    assert any(t.stage.startswith("calibration methods") for t in result.trials)
    assert len(result.trials) <= 4


def test_a_latency_verdict_carries_the_benchmarks_error_and_is_judged_at_its_lower_bound(tmp_path: Path) -> None:
    """With the latency objective every passing trial's paired speed-up comes with its standard
    error (from the ORT benchmark, through core), kept in the history; a met trial's speed-up
    two errors down still beats ``min_gain``."""
    import math

    from inc_core import TrialHistory
    from inc_core.evaluate.goal import CONFIDENCE_Z

    result = _tune(DIGITS, tmp_path, strategy="basic", objectives={"latency": 1.0}, max_trials=4)
    passed = [t for t in result.trials if t.passed]
    assert passed, [(t.number, t.score, t.error) for t in result.trials]
    assert all(t.speedup and t.speedup_error and t.speedup_error > 0 for t in passed)
    for trial in result.trials:
        if trial.met:
            assert trial.speedup * math.exp(-CONFIDENCE_Z * trial.speedup_error) >= 1.0 + 0.05
    with TrialHistory.in_run_dir(tmp_path / "run") as history:
        stored = {t.number: t.speedup_error for t in history.trials()}
    assert all(stored[t.number] == t.speedup_error for t in passed)


def test_benchmark_sessions_do_not_spin_while_the_users_sessions_keep_orts_default() -> None:
    """Sessions timed side by side block their idle workers (a spinning pool takes the other
    session's cores); other sessions keep ORT's default."""
    from unittest import mock

    from inc_onnx import model_io

    model, calib, _ = DIGITS

    def spinning(session) -> str | None:
        try:
            return session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")
        except RuntimeError:  # not set
            return None

    assert spinning(model_io.session(str(model), threads=2)) is None  # ORT's default: spin
    adaptor = OnnxAdaptor(threads=2)
    built = []
    real = model_io.session

    def recording(*args, **kwargs):
        built.append(real(*args, **kwargs))
        return built[-1]

    with mock.patch.object(model_io, "session", recording):
        fp32, same = adaptor.benchmark_many([str(model), str(model)], Calibration(str(calib)))
    assert len(built) == 2 and all(spinning(s) == "0" for s in built)
    assert 0.5 < fp32 / same < 2.0
