"""The generator adapter: a generator strategy's yields become ask/tell answers.

Results may arrive in any order but the strategy always sees them in proposal order
("lowest index wins"): a batch result is handed to the generator only once every
lower-index result is in. A config already evaluated (earlier in the run or in a
resumed history) is answered from that result without costing budget. A config in
which every op is fp32 (the float model itself) is answered at once as failed and
never evaluated: it cannot gain anything over fp32.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from inc_core.history.trial import Trial, TrialState
from inc_core.space.space import TuningSpace
from inc_core.space.tune_config import OpOption, TuneConfig
from inc_core.strategy.context import StrategyContext

ALL_FP32 = "not evaluated: every op in fp32 is the float model itself (no gain possible)"


@dataclass(frozen=True)
class Proposal:
    """A config handed out by `TuneStrategy.ask`; ``seq`` is its proposal order."""

    config: TuneConfig
    seq: int
    stage: str = ""


@dataclass(frozen=True)
class Batch:
    """Configs a generator strategy proposes together (they may run in parallel).

    ``configs`` may be a lazy iterable (a generator): configs are built only when
    handed out, so a one-by-one pass over 10,000 ops costs nothing up front.
    ``stop_on_pass``: the batch ends at its first passing config in proposal order;
    later configs are not proposed (or their results ignored if already running).
    """

    configs: Iterable[TuneConfig | Mapping[str, OpOption]]
    stop_on_pass: bool = False
    stage: str | None = None


@dataclass(eq=False)
class _Slot:
    config: TuneConfig
    seq: int
    stage: str
    batch: _OpenBatch
    trial: Trial | None = None


@dataclass(eq=False)
class _OpenBatch:
    """One yielded config or `Batch`; configs are pulled from ``source`` only when issued."""

    source: Iterator[Any]
    stage: str
    stop_on_pass: bool
    single: bool
    slots: list[_Slot] = field(default_factory=list)  # issued, in proposal order
    consumed: int = 0  # slots handed to the strategy, in order
    exhausted: bool = False
    done: bool = False
    results: list[Trial] = field(default_factory=list)


class GeneratorAdapter:
    """Ask/tell over ``next_tune_cfg``; `TuneStrategy` builds on it (see the module docstring)."""

    space: TuningSpace
    context: StrategyContext
    name: ClassVar[str]
    stage: str
    finished: bool

    def __init__(self) -> None:
        self._known: dict[TuneConfig, Trial] = {}
        self._waiting: dict[TuneConfig, list[_Slot]] = {}
        self._seq = 0
        self._batch: _OpenBatch | None = None
        self._generator: Generator[Any, Any, None] | None = None

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        """Yield configs (or `Batch` objects) to evaluate; override in generator-style strategies."""
        raise NotImplementedError(f"strategy {self.name!r} must override next_tune_cfg() or ask()/tell()")
        yield  # pragma: no cover  (makes this a generator)

    # Ask/tell ------------------------------------------------------------------
    def ask(self, n: int = 1) -> list[Proposal]:
        """Up to ``n`` configs to evaluate next; ``[]`` means wait for results (or `finished`)."""
        out: list[Proposal] = []
        while len(out) < n and not self.finished:
            batch = self._batch
            if batch is None or batch.done:
                if not self._advance():
                    break
                continue
            slot = self._pull(batch)
            if slot is None:
                if batch.done:
                    continue
                break  # everything issued; wait for results
            known = self._known.get(slot.config)
            if known is None and not slot.config.reduces_precision():
                known = Trial(0, slot.config, state=TrialState.FAILED, error=ALL_FP32)
                self._known[slot.config] = known
            if known is not None:
                self._fill(slot, known.with_(seq=slot.seq, stage=slot.stage, cached=True))
            elif slot.config in self._waiting:
                self._waiting[slot.config].append(slot)  # same config already running
            else:
                self._waiting[slot.config] = [slot]
                out.append(Proposal(slot.config, slot.seq, slot.stage))
        return out

    def _pull(self, batch: _OpenBatch) -> _Slot | None:
        """Issue the batch's next config, or None when its source is exhausted."""
        if batch.exhausted:
            return None
        try:
            config = self._as_config(next(batch.source))
        except StopIteration:
            batch.exhausted = True
            if batch.consumed == len(batch.slots):
                batch.done = True
            return None
        slot = _Slot(config, self._seq, batch.stage, batch)
        self._seq += 1
        batch.slots.append(slot)
        return slot

    def tell(self, trial: Trial) -> None:
        """Feed back the result of a proposal (any order)."""
        if trial.state is not TrialState.RUNNING:
            self._known[trial.config] = trial
        for slot in self._waiting.pop(trial.config, []):
            self._fill(slot, trial.with_(seq=slot.seq, stage=slot.stage))

    def finalize(self) -> None:
        """Consume every result already in (the run is ending, e.g. out of budget)."""
        batch = self._batch
        if batch is None:
            return
        for slot in batch.slots[batch.consumed :]:
            if slot.trial is not None:
                self._consume(slot.trial)

    # Internals -------------------------------------------------------------------
    def _fill(self, slot: _Slot, trial: Trial) -> None:
        slot.trial = trial
        batch = slot.batch
        if batch is not self._batch or batch.done:
            return  # a result for a batch already closed (stop_on_pass): recorded only
        first_met = self.context.timeout == 0
        while batch.consumed < len(batch.slots):
            current = batch.slots[batch.consumed].trial
            if current is None:
                break
            batch.consumed += 1
            batch.results.append(current)
            self._consume(current)
            if (current.passed and batch.stop_on_pass) or (current.met and first_met):
                self._close(batch)
                return
        if batch.exhausted and batch.consumed == len(batch.slots):
            batch.done = True

    def _close(self, batch: _OpenBatch) -> None:
        """End a batch at a passing result: later configs are never proposed, running ones ignored."""
        batch.done = True
        for pending in batch.slots[batch.consumed :]:
            waiters = self._waiting.get(pending.config, [])
            if pending in waiters:
                waiters.remove(pending)

    def _consume(self, trial: Trial) -> None:
        """A result reaches the strategy, in proposal order (`TuneStrategy` records it)."""
        raise NotImplementedError

    def _advance(self) -> bool:
        """Resume the generator with the last batch's results; open the next batch."""
        if self._generator is None:
            self._generator = self.next_tune_cfg()
            to_send: Any = None
        else:
            previous = self._batch
            assert previous is not None
            if previous.single:
                to_send = previous.results[0] if previous.results else None
            else:
                to_send = previous.results
        try:
            item = self._generator.send(to_send)
        except StopIteration:
            self.finished = True
            self._batch = None
            return False
        self._batch = self._open(item)
        return True

    def _open(self, item: Any) -> _OpenBatch:
        if isinstance(item, Batch):
            stage = item.stage if item.stage is not None else self.stage
            return _OpenBatch(iter(item.configs), stage, item.stop_on_pass, single=False)
        return _OpenBatch(iter([item]), self.stage, stop_on_pass=False, single=True)

    def _as_config(self, item: Any) -> TuneConfig:
        if isinstance(item, TuneConfig):
            return item
        if isinstance(item, Mapping):
            return self.space.config(item)
        raise TypeError(f"strategy {self.name!r} yielded {type(item).__name__}; expected a TuneConfig or Batch")
