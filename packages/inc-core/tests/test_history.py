from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inc_core import HistoryError, OpOption, Trial, TrialHistory, TrialState, TuneConfig
from inc_core.history import CANCELLED, INTERRUPTED

DEFAULT = TuneConfig({f"op{i}": OpOption("int8") for i in range(5)}, {"calib_sampling_size": 100})


def finished(number: int, config: TuneConfig, **kw) -> Trial:
    base = {"state": TrialState.COMPLETE, "metrics": {"accuracy": 0.5}, "score": 0.5, "passed": False}
    return Trial(number, config, seq=number - 1, stage="s", started_at=1.0, ended_at=2.0, **{**base, **kw})


def test_trials_round_trip_through_a_real_sqlite_file(tmp_path) -> None:
    with TrialHistory.in_run_dir(tmp_path) as history:
        history.set_default_config(DEFAULT)
        config = DEFAULT.replace({"op3": OpOption.float()})
        trial = finished(1, config, latency=0.01, model_size=123, passed=True)
        history.record_start(trial.with_(state=TrialState.RUNNING))
        history.record_end(trial)
    with TrialHistory.in_run_dir(tmp_path) as reopened:
        [loaded] = reopened.trials()
    assert loaded.config == config and loaded.passed and loaded.latency == 0.01 and loaded.model_size == 123
    raw = sqlite3.connect(tmp_path / "history.sqlite").execute("SELECT config FROM trials").fetchone()[0]
    assert "op3" in raw and "op1" not in raw  # stored as a delta from the default config


def test_paired_speedup_and_its_error_survive_a_history_written_before_the_error_column(tmp_path) -> None:
    with TrialHistory.in_run_dir(tmp_path) as history:
        history.set_default_config(DEFAULT)
        trial = finished(1, DEFAULT, passed=True, speedup=1.4, speedup_error=0.03)
        history.record_start(trial.with_(state=TrialState.RUNNING))
        history.record_end(trial)
    with TrialHistory.in_run_dir(tmp_path) as reopened:
        [loaded] = reopened.trials()
    assert (loaded.speedup, loaded.speedup_error) == (1.4, 0.03)
    db = sqlite3.connect(tmp_path / "history.sqlite")
    db.execute("ALTER TABLE trials DROP COLUMN speedup_error")  # as a history from before the column
    db.commit()
    db.close()
    with TrialHistory.in_run_dir(tmp_path) as old:
        [loaded] = old.trials()
        old.record_end(finished(1, DEFAULT, passed=True, speedup=1.2, speedup_error=0.05))
        [updated] = old.trials()
    assert loaded.speedup == 1.4 and loaded.speedup_error is None
    assert updated.speedup_error == 0.05


def test_each_trial_is_durable_before_the_next(tmp_path) -> None:
    history = TrialHistory.in_run_dir(tmp_path)
    history.set_default_config(DEFAULT)
    history.record_start(Trial(1, DEFAULT, started_at=1.0))
    # another connection (another process) sees it at once: each write is committed
    rows = sqlite3.connect(tmp_path / "history.sqlite").execute("SELECT number, state FROM trials").fetchall()
    assert rows == [(1, "running")]
    history.close()


def test_running_trials_become_failed_and_are_not_final(tmp_path) -> None:
    with TrialHistory.in_run_dir(tmp_path) as history:
        history.set_default_config(DEFAULT)
        history.record_start(Trial(1, DEFAULT, started_at=1.0))
        history.record_end(finished(1, DEFAULT))
        second = DEFAULT.replace({"op0": OpOption.float()})
        history.record_start(Trial(2, second, started_at=1.0))
        third = DEFAULT.replace({"op1": OpOption.float()})
        history.record_start(Trial(3, third, started_at=1.0))
        history.record_end(Trial(3, third, state=TrialState.FAILED, error=CANCELLED))
        assert history.mark_interrupted() == 1
        states = {t.number: (t.state, t.error) for t in history.trials()}
        assert states[2] == (TrialState.FAILED, INTERRUPTED)
        assert [t.number for t in history.finished_trials()] == [1]
        assert history.next_number() == 4


def test_not_a_database_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "history.sqlite").write_text("this is not sqlite" * 100)
    with pytest.raises(HistoryError, match=r"history\.sqlite"):
        TrialHistory.in_run_dir(tmp_path)


def test_sensitivity_cache(tmp_path) -> None:
    with TrialHistory.in_run_dir(tmp_path) as history:
        history.set_default_config(DEFAULT)
        assert history.get_sensitivity("mse", DEFAULT) is None
        history.put_sensitivity("mse", DEFAULT, {"op0": 1.5})
        assert history.get_sensitivity("mse", DEFAULT) == {"op0": 1.5}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sets(st.integers(0, 4)), min_size=1, max_size=6))
def test_replay_returns_exactly_what_was_written(tmp_path_factory, float_sets) -> None:
    path = tmp_path_factory.mktemp("h") / "history.sqlite"
    written = []
    with TrialHistory(path) as history:
        history.set_default_config(DEFAULT)
        for number, ops in enumerate(float_sets, start=1):
            config = DEFAULT.replace({f"op{i}": OpOption.float() for i in ops})
            trial = finished(number, config, score=number / 10)
            history.record_start(trial)
            history.record_end(trial)
            written.append(trial)
    with TrialHistory(path) as history:
        assert [(t.config, t.score) for t in history.finished_trials()] == [(t.config, t.score) for t in written]
