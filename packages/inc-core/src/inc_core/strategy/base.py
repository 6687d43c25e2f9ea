"""`TuneStrategy`: the ask/tell base every strategy builds on.

A strategy only proposes; the runner owns the loop, the executor and the history.

Two ways to write one:

* **Generator style** (INC's): override `next_tune_cfg` as a generator. ``yield cfg``
  proposes one config and resumes once its result is known (``self.last_trial``,
  ``self.last_tune_result``; the yield expression also returns the `Trial`).
  ``yield Batch([...])`` proposes configs that may run in parallel and resumes with
  the list of their trials.
* **Batch style**: override `ask`/`tell` directly.

The base turns generator proposals into ask/tell answers so that results may arrive
in any order but the strategy always sees them in proposal order ("lowest index
wins"): a batch result is handed to the generator only once every lower-index
result is in. A config already evaluated (earlier in the run or in a resumed
history) is answered from that result without costing budget. A config in which
every op is fp32 — the float model itself — is answered at once as failed and never
evaluated: it cannot gain anything over fp32.
"""

from __future__ import annotations

import logging
import math
import re
import sys
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from inc_core.config.criterion import better_score, score_key, shortfall
from inc_core.errors import ConfigError
from inc_core.history.trial import Trial, TrialState
from inc_core.space.space import TuningSpace
from inc_core.space.tune_config import OpOption, TuneConfig

if TYPE_CHECKING:
    from inc_core.measure.cost import CostModel

logger = logging.getLogger("inc.strategy")
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


class StrategyContext(Protocol):
    """What core tells a strategy beyond the space: the goal, the budget, and services."""

    @property
    def seed(self) -> int: ...

    @property
    def baseline_score(self) -> float: ...

    @property
    def target_score(self) -> float: ...

    @property
    def higher_is_better(self) -> bool: ...

    @property
    def timeout(self) -> float: ...

    @property
    def max_trials(self) -> int: ...

    def objective_key(self, trial: Trial) -> tuple[float, ...]:
        """Sort key among passing trials (lower = better objective)."""
        ...

    def sensitivity(self, method: str, config: TuneConfig, ops: Sequence[str] | None = None) -> Mapping[str, float]:
        """Per-op sensitivity from the adaptor (higher = more sensitive), cached by core."""
        ...

    @property
    def min_gain(self) -> float | None:
        """Gain over fp32 a config needs to meet the goal (0.05 = 5%); None when only accuracy counts."""
        ...

    def elapsed(self) -> float: ...

    def trials_used(self) -> int: ...

    @property
    def cost_model(self) -> CostModel | None:
        """What each option kind buys on this machine, measured before any evaluation (None: unknown)."""
        ...


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


class TuneStrategy:
    """Base class of strategies; see the module docstring for the two styles.

    Subclasses set ``name`` (their registered name) and may declare
    ``default_options`` (option name -> default value; the default's type is the
    expected type). Unknown options or wrong types raise `ConfigError` naming
    the strategy and the option. ``options_model`` (a pydantic model, usually
    ``option_model(default_options, batch_size=PositiveInt)``) adds ranges and
    allowed values; the runner checks it before anything is evaluated, so
    ``batch_size: 0`` or ``fallback_dtype: bogus`` is bad input.
    """

    name: ClassVar[str] = ""
    default_options: ClassVar[Mapping[str, Any]] = {}
    options_model: ClassVar[type[BaseModel] | None] = None

    def __init__(self, space: TuningSpace, context: StrategyContext, **options: Any) -> None:
        self.space = space
        self.context = context
        self.options = self.validate_options(options)
        self.stage = ""
        self.atomic_stage = False
        """While True, a passing trial does not end a ``timeout=0`` run: the stage runs to its end."""
        self.trials: list[Trial] = []  # consumed trials, in proposal order
        self.last_trial: Trial | None = None
        self.best_trial: Trial | None = None
        self.last_tune_result: tuple[float, list[float]] | None = None
        self.best_tune_result: tuple[float, list[float]] | None = None
        self.cur_best_acc = self.initial_best_acc()
        self.finished = False
        self._known: dict[TuneConfig, Trial] = {}
        self._waiting: dict[TuneConfig, list[_Slot]] = {}
        self._seq = 0
        self._batch: _OpenBatch | None = None
        self._generator: Generator[Any, Any, None] | None = None

    # Options -----------------------------------------------------------------
    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """``options`` merged over the defaults, or `ConfigError` naming the strategy, option and rule."""
        merged = cls._validate_options(options)
        if cls.options_model is None:
            return merged
        label = cls.name or cls.__name__
        checked = {k: v for k, v in merged.items() if k in cls.options_model.model_fields}
        try:
            model = cls.options_model.model_validate(checked)
        except ValidationError as exc:
            lines = []
            for problem in exc.errors():
                option = ".".join(str(p) for p in problem["loc"])
                lines.append(f"strategy {label!r}: option {option!r}: {problem['msg']} (got {problem.get('input')!r})")
            raise ConfigError("\n".join(lines)) from None
        return {**merged, **{k: getattr(model, k) for k in checked}}

    @classmethod
    def _validate_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        label = cls.name or cls.__name__
        merged = dict(cls.default_options)
        for key, value in options.items():
            if key not in cls.default_options:
                valid = ", ".join(sorted(cls.default_options)) or "none"
                raise ConfigError(f"strategy {label!r}: unknown option {key!r}; valid options: {valid}")
            default = cls.default_options[key]
            if default is not None and value is not None and not _same_kind(value, default):
                expected, got = type(default).__name__, type(value).__name__
                raise ConfigError(f"strategy {label!r}: option {key!r} must be {expected}, got {got} {value!r}")
            merged[key] = value
        return merged

    # Seed-style helpers ------------------------------------------------------
    def initial_best_acc(self) -> float:
        """The worst possible score, so any real result improves on it."""
        return -math.inf if self.context.higher_is_better else math.inf

    def initial_tuning_cfg(self) -> TuneConfig:
        """The first config every strategy starts from: every op at its default option."""
        return self.space.default_config()

    def meet_acc_req(self, trial: Trial | None = None) -> bool:
        """Whether ``trial`` (default: the last one) passed the accuracy criterion (INC's name).

        Whether it also meets the goal (a real gain over fp32) is ``trial.met``.
        """
        trial = trial if trial is not None else self.last_trial
        return bool(trial is not None and trial.passed)

    def evaluation_result(self, trial: Trial) -> tuple[float, list[float]]:
        """INC's ``[accuracy, [objective values]]`` view of a trial."""
        objectives = [v for v in (trial.latency, trial.model_size) if v is not None]
        score = trial.score if trial.score is not None else self.initial_best_acc()
        return score, [float(v) for v in objectives]

    def show_baseline_info(self) -> None:
        logger.info("baseline score %.6g; strategy %s", self.context.baseline_score, self.name)

    def better_score(self, a: float | None, b: float | None) -> bool:
        """Whether score ``a`` is strictly better than ``b`` (None is worst)."""
        return better_score(a, b, self.context.higher_is_better)

    def score_key(self, score: float | None) -> float:
        """Sort key of a score under the criterion's direction: lower = better, None worst."""
        return score_key(score, self.context.higher_is_better)

    def shortfall(self, score: float, reference: float) -> float:
        """How far ``score`` is behind ``reference`` (e.g. the baseline or target); negative = ahead."""
        return shortfall(score, reference, self.context.higher_is_better)

    def plan(self) -> list[str]:
        """The stages this strategy runs, one line each: its module docstring's ``Plan:`` section."""
        return plan_lines(sys.modules[type(self).__module__].__doc__)

    def update_best_op_tuning_cfg(self, trial: Trial) -> TuneConfig | None:
        """Fold ``trial`` into the best result: passing beats failing, then objective, then seq.

        (A ``timeout=0`` run stops at its first passing trial, so it normally has one.)
        """
        if trial.state is not TrialState.COMPLETE:
            return self.best_trial.config if self.best_trial else None
        best = self.best_trial
        if best is None or self._better_trial(trial, best):
            self.best_trial = trial
            self.best_tune_result = self.evaluation_result(trial)
        if self.better_score(trial.score, self.cur_best_acc):
            self.cur_best_acc = trial.score if trial.score is not None else self.cur_best_acc
        return self.best_trial.config if self.best_trial else None

    def _better_trial(self, a: Trial, b: Trial) -> bool:
        """Meeting the goal beats passing only; then the objective among passing ones, else the score."""
        if a.met != b.met:
            return a.met
        if a.passed != b.passed:
            return a.passed
        if a.passed:
            ka, kb = self.context.objective_key(a), self.context.objective_key(b)
            return ka < kb or (ka == kb and a.seq < b.seq)
        if a.score != b.score:
            return self.better_score(a.score, b.score)
        return a.seq < b.seq

    def deploy_config(self, path: str | Path) -> Path | None:
        """Write the best config found so far as YAML (e.g. ``best_config.yaml``)."""
        if self.best_trial is None:
            return None
        return self.best_trial.config.save(path)

    def setup_resume(self, trials: Iterable[Trial]) -> None:
        """Preload finished trials (from a resumed history) so they are answered, not re-run."""
        for trial in trials:
            if trial.state is not TrialState.RUNNING:
                self._known.setdefault(trial.config, trial)

    def stop(self) -> bool:
        """Whether this strategy has nothing more to propose."""
        return self.finished

    def traverse(self, runner: Any) -> Any:
        """Run this strategy to the end with ``runner`` (a `inc_core.run.runner.TuningRun`)."""
        return runner.drive(self)

    # Generator style -----------------------------------------------------------
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
        self.trials.append(trial)
        self.last_trial = trial
        self.last_tune_result = self.evaluation_result(trial)
        self.update_best_op_tuning_cfg(trial)

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


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
FallbackDtype = Literal["bf16", "fp16", "fp32"]
"""Option types for `option_model` (``FallbackDtype``: the float dtypes of `FLOAT_DTYPES`)."""


def option_model(defaults: Mapping[str, Any], **rules: Any) -> type[BaseModel]:
    """A strict pydantic model checking the options named in ``rules`` (name -> type with its range).

    ``defaults`` is the strategy's ``default_options``: each rule's field defaults to it.
    Use ``PositiveInt``, ``Annotated[float, Field(gt=0)]``, ``Literal[...]``; values are
    not coerced (``"4"`` is not an int, ``True`` is not 1).
    """
    unknown = sorted(set(rules) - set(defaults))
    if unknown:
        raise TypeError(f"option_model: {unknown} are not in default_options")
    config = ConfigDict(strict=True, extra="forbid", frozen=True)
    fields: dict[str, Any] = {name: (rule, defaults[name]) for name, rule in rules.items()}
    return create_model("StrategyOptions", __config__=config, **fields)


def plan_lines(doc: str | None) -> list[str]:
    """The numbered stages of a docstring's ``Plan:`` section, one line each.

    A stage may span several docstring lines; the plan ends at the first blank line after it.
    """
    text = (doc or "").partition("Plan:")[2]
    lines: list[str] = []
    for raw in text.strip("\n").splitlines():
        line = raw.strip()
        if not line:
            if lines:
                break
            continue
        if re.match(r"^\d+\.\s", line) or not lines:
            lines.append(line)
        else:
            lines[-1] += " " + line
    return lines
