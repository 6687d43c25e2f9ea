"""The ask/tell machinery of TuneStrategy, driven by hand (no runner)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inc_core import Batch, ConfigError, Trial, TrialState, TuneStrategy, TuningSpace
from inc_core.testing import SyntheticAdaptor, SyntheticModel


class Context:
    seed = 0
    baseline_score = 1.0
    target_score = 0.99
    higher_is_better = True
    max_trials = 100

    def __init__(self, timeout: float = 0) -> None:
        self.timeout = timeout

    def objective_key(self, trial):
        return (0.0, -(trial.score or 0))

    def sensitivity(self, method, config, ops=None):
        raise NotImplementedError

    def elapsed(self):
        return 0.0

    def trials_used(self):
        return 0


SPACE = TuningSpace(SyntheticAdaptor().capability(SyntheticModel(6, "flat")))


def one_by_one(space):
    base = space.default_config()
    return [space.with_float(base, [op.name]) for op in space.ops]


class BatchStrategy(TuneStrategy):
    name = "batchy"

    def next_tune_cfg(self):
        trials = yield Batch(one_by_one(self.space), stop_on_pass=True, stage="one-by-one")
        self.seen = trials


class SeedStyle(TuneStrategy):
    """INC-style: yield configs, read self.last_tune_result."""

    name = "seedstyle"
    default_options = {"steps": 3, "alpha": 0.5}

    def next_tune_cfg(self):
        self.log = []
        for config in one_by_one(self.space)[: self.options["steps"]]:
            yield config
            self.log.append(self.last_tune_result[0])


def answer(proposal, passing: set[int], number: int) -> Trial:
    passed = proposal.seq in passing
    return Trial(
        number, proposal.config, proposal.seq, state=TrialState.COMPLETE, score=1.0 if passed else 0.5, passed=passed
    )


def test_generator_style_reads_last_result() -> None:
    strategy = SeedStyle(SPACE, Context())
    for number in range(1, 4):
        [proposal] = strategy.ask(4)  # a single-config yield hands out one at a time
        strategy.tell(answer(proposal, set(), number))
    assert strategy.ask(1) == [] and strategy.finished
    assert strategy.log == [0.5, 0.5, 0.5]


def test_options_are_validated() -> None:
    with pytest.raises(ConfigError, match="strategy 'seedstyle': option 'steps' must be int, got str"):
        SeedStyle(SPACE, Context(), steps="3")
    with pytest.raises(ConfigError, match="unknown option 'stepz'; valid options: alpha, steps"):
        SeedStyle(SPACE, Context(), stepz=3)
    assert SeedStyle(SPACE, Context(), alpha=1).options["alpha"] == 1


def drive(strategy, passing, batch, rng):
    pending, number = [], 0
    while True:
        pending += strategy.ask(batch - len(pending))
        if not pending:
            break
        proposal = pending.pop(rng.randrange(len(pending)))
        number += 1
        strategy.tell(answer(proposal, passing, number))
    strategy.finalize()
    return strategy


@settings(max_examples=40, deadline=None)
@given(st.sets(st.integers(0, 5)), st.integers(1, 6), st.integers(0, 1000))
def test_batch_choice_is_independent_of_arrival_order(passing, batch, seed) -> None:
    sequential = drive(BatchStrategy(SPACE, Context(timeout=1)), passing, 1, random.Random(0))
    shuffled = drive(BatchStrategy(SPACE, Context(timeout=1)), passing, batch, random.Random(seed))
    assert [t.seq for t in shuffled.seen] == [t.seq for t in sequential.seen]
    assert (shuffled.best_trial and shuffled.best_trial.config) == (
        sequential.best_trial and sequential.best_trial.config
    )
    if passing:
        assert sequential.best_trial.seq == min(passing)


def test_duplicates_are_answered_from_the_earlier_result() -> None:
    class Repeats(TuneStrategy):
        name = "repeats"

        def next_tune_cfg(self):
            config = self.space.default_config()
            first = yield config
            second = yield config
            self.same = first.number == second.number and second.cached

    strategy = Repeats(SPACE, Context(timeout=1))
    [proposal] = strategy.ask(2)
    strategy.tell(answer(proposal, set(), 1))
    assert strategy.ask(2) == [] and strategy.finished and strategy.same


def test_resume_answers_known_configs() -> None:
    known = [answer(p, set(), i) for i, p in enumerate(SeedStyle(SPACE, Context()).ask(1), start=1)]
    strategy = SeedStyle(SPACE, Context())
    strategy.setup_resume(known)
    proposals = strategy.ask(1)
    assert proposals and proposals[0].config != known[0].config
    assert strategy.trials[0].cached


def test_a_strategy_without_next_tune_cfg_says_so() -> None:
    class Nothing(TuneStrategy):
        name = "nothing"

    with pytest.raises(NotImplementedError, match="next_tune_cfg"):
        Nothing(SPACE, Context()).ask(1)


def test_deploy_config_writes_yaml(tmp_path) -> None:
    strategy = drive(BatchStrategy(SPACE, Context()), {2}, 1, random.Random(0))
    path = strategy.deploy_config(tmp_path / "best_config.yaml")
    assert path.read_text().startswith("ops:")
