"""The cost model: what each quantization mode buys on this machine, measured before any evaluation.

For every option *kind* the space offers (``static``, ``dynamic``, ``weight_only`` for
quantized options, ``bf16``/``fp16`` for float ones) core builds a uniform preset —
every op that offers the kind at its first option of that kind, every other op in fp32
— quantizes it, and times all presets and the fp32 model in one interleaved benchmark
(`Adaptor.benchmark_many`), without calling the user's eval function. Kinds that are
not faster (or smaller, per the objective weights) than fp32 leave the default space,
and each op's options are ordered by their kind's measured gain, so the space's default
config — every strategy's first trial — is the fastest measured preset.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from inc_core.adaptor.base import Adaptor, Calibration
from inc_core.config.objectives import Objectives
from inc_core.errors import NotSupportedError
from inc_core.history.trial import Trial
from inc_core.measure import timing
from inc_core.space.capability import OpSpec
from inc_core.space.space import TuningSpace
from inc_core.space.tune_config import OpOption, TuneConfig

logger = logging.getLogger("inc.cost")
FP32 = "fp32"
NOISE_MARGIN = 0.1
"""A preset measured this close to fp32 (0.9x) may really be faster on a noisy machine."""
HOPELESS = 2.0
"""With latency the only objective, a preset this many times slower than fp32 in two warm rounds
is timed no further (`inc_core.measure.timing.settle_slower`)."""


def option_kind(option: OpOption) -> str:
    """``static``/``dynamic``/``weight_only`` for quantized options, the dtype for float ones."""
    return option.dtype if option.is_float else option.mode


def kinds(space: TuningSpace) -> list[str]:
    """Option kinds present in ``space``, in order of first appearance (fp32 excluded)."""
    found = dict.fromkeys(option_kind(o) for op in space.ops for o in op.options)
    found.pop(FP32, None)
    return list(found)


def preset(space: TuningSpace, kind: str) -> TuneConfig:
    """Every op that offers ``kind`` at its first option of that kind; the others in fp32."""
    ops = {}
    for op in space.ops:
        option = next((o for o in op.options if option_kind(o) == kind), None)
        ops[op.name] = option or op.float_option(FP32) or op.default
    return TuneConfig(ops, space.default_recipes())


@dataclass(frozen=True)
class PresetCost:
    """Measured cost of one uniform preset (ratios vs fp32; None when not measured)."""

    kind: str
    latency: float | None = None
    speedup: float | None = None
    size: int | None = None
    compression: float | None = None
    error: str | None = None
    speedup_error: float | None = None
    """Relative standard error of ``speedup`` (`inc_core.measure.timing.recorded_errors`); None if not reported."""


@dataclass(frozen=True)
class CostModel:
    """The presets' measured costs and the fp32 baseline they were compared with."""

    presets: Mapping[str, PresetCost]
    objectives: Objectives
    seconds: float = 0.0
    latency_measured: bool = True
    models: Mapping[TuneConfig, Any] = field(default_factory=dict, compare=False, repr=False)
    """The presets as built, by config (this process only: not stored, not replayed on resume)."""

    @property
    def baseline_latency(self) -> float | None:
        return self.objectives.baseline_latency

    @property
    def baseline_size(self) -> int | None:
        return self.objectives.baseline_size

    def gain(self, kind: str, errors: float = 0.0) -> float | None:
        """Weighted objective gain of the ``kind`` preset over fp32 (0.4 = 1.4x); None if unknown.

        ``errors``: with the speed-up moved by that many of its standard errors (2: about the
        most it may really be), where the benchmark reported one.
        """
        if kind == FP32:
            return 0.0
        cost = self.presets.get(kind)
        if cost is None or cost.error is not None:
            return None
        speedup = cost.speedup
        if speedup and cost.speedup_error and errors:
            speedup *= math.exp(errors * cost.speedup_error)
        as_trial = Trial(0, TuneConfig({}), latency=cost.latency, speedup=speedup, model_size=cost.size)
        relative = self.objectives.relative_cost(as_trial)
        return None if relative is None or relative <= 0 else 1.0 / relative - 1.0

    def ranking(self) -> list[str]:
        """Measured kinds, best gain first (unknown gains last)."""
        gains = {kind: self.gain(kind) for kind in self.presets}
        return sorted(gains, key=lambda k: -_known(gains[k]))

    def describe(self) -> str:
        parts = []
        for kind in self.ranking():
            cost = self.presets[kind]
            if cost.error is not None:
                parts.append(f"{kind}: failed ({cost.error})")
                continue
            bits = [f"{cost.speedup:.2f}x speed" if cost.speedup else ""]
            bits.append(f"{cost.compression:.2f}x smaller" if cost.compression else "")
            parts.append(f"{kind}: " + (", ".join(b for b in bits if b) or "not measured"))
        return "; ".join(parts) or "no presets"

    def to_dict(self) -> dict[str, Any]:
        return {
            "presets": {k: vars(v) for k, v in self.presets.items()},
            "baseline_latency": self.baseline_latency,
            "baseline_size": self.baseline_size,
            "seconds": self.seconds,
            "latency_measured": self.latency_measured,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], weights: Mapping[str, float]) -> CostModel:
        presets = {k: PresetCost(**v) for k, v in data["presets"].items()}
        objectives = Objectives(dict(weights), data.get("baseline_latency"), data.get("baseline_size"))
        return cls(presets, objectives, float(data.get("seconds", 0.0)), bool(data.get("latency_measured", True)))


def measure(
    adaptor: Adaptor,
    model: Any,
    calibration: Calibration,
    space: TuningSpace,
    weights: Mapping[str, float],
    with_presets: bool = True,
    benchmark_seconds: float | None = None,
) -> CostModel:
    """Build, time and size every uniform preset of ``space`` against ``model`` (fp32).

    ``with_presets=False`` (or no weighted objective) measures only the fp32 baseline.
    ``benchmark_seconds`` caps the one interleaved benchmark of all presets (`timing.budget`).
    """
    started = time.perf_counter()
    built: dict[str, Any] = {}
    presets: dict[str, PresetCost] = {}
    wanted = kinds(space) if with_presets and any(w > 0 for w in weights.values()) else []
    configs = {kind: preset(space, kind) for kind in wanted}
    for kind in wanted:
        try:
            built[kind] = adaptor.quantize(model, configs[kind], calibration)
        except Exception as exc:  # a mode this model cannot be built in: recorded, never fatal
            presets[kind] = PresetCost(kind, error=f"{type(exc).__name__}: {exc}"[:300])
            logger.warning("cost model: the %s preset could not be built: %s", kind, presets[kind].error)
    latencies: list[float | None] = [None] * (len(built) + 1)
    errors: list[float | None] = [None] * (len(built) + 1)
    latency_measured = weights.get("latency", 0) > 0
    if latency_measured:
        try:
            latency_only = not any(w > 0 for name, w in weights.items() if name != "latency")
            settle = timing.settle_slower(HOPELESS) if latency_only else contextlib.nullcontext()
            with settle:
                latencies, errors = _benchmark(adaptor, [model, *built.values()], calibration, benchmark_seconds)
        except NotSupportedError as exc:
            latency_measured = False
            logger.warning("cost model: latency cannot be measured (%s)", exc)
    sizes = [_size(adaptor, m) for m in [model, *built.values()]]
    base_latency, base_size = latencies[0], sizes[0]
    rows = zip(built.items(), latencies[1:], errors[1:], sizes[1:], strict=True)
    for (kind, _), latency, error, size in rows:
        presets[kind] = PresetCost(
            kind,
            latency=latency,
            speedup=base_latency / latency if latency and base_latency else None,
            size=size,
            compression=base_size / size if size and base_size else None,
            speedup_error=error,
        )
    objectives = Objectives(dict(weights), base_latency, base_size)
    ordered = {k: presets[k] for k in kinds(space) if k in presets}
    models = {configs[kind]: quantized for kind, quantized in built.items()}
    return CostModel(ordered, objectives, time.perf_counter() - started, latency_measured, models)


def _benchmark(
    adaptor: Adaptor, models: list[Any], calibration: Calibration, seconds: float | None
) -> tuple[list[Any], list[float | None]]:
    """Latencies and their ratios' relative errors from one interleaved benchmark of ``models``
    (fp32 first); a second one when no preset beat fp32.

    Dropping every mode means no evaluation at all, so that verdict is confirmed: the
    two measurements are combined (geometric mean of each model's latency).
    """
    first, first_errors = _timed(adaptor, models, calibration, seconds)
    if len(models) < 2 or first[0] is None or any(t is not None and t < first[0] for t in first[1:]):
        return first, first_errors
    logger.info("cost model: no preset measured faster than fp32; measuring again to confirm")
    second, second_errors = _timed(adaptor, models, calibration, seconds)
    latencies = [None if a is None or b is None else (a * b) ** 0.5 for a, b in zip(first, second, strict=True)]
    errors = [
        None if a is None or b is None else 0.5 * (a * a + b * b) ** 0.5
        for a, b in zip(first_errors, second_errors, strict=True)
    ]
    return latencies, errors


def _timed(
    adaptor: Adaptor, models: list[Any], calibration: Calibration, seconds: float | None
) -> tuple[list[Any], list[float | None]]:
    with timing.budget(seconds), timing.recorded_errors() as recorded:
        latencies = list(adaptor.benchmark_many(models, calibration))
    errors: list[float | None] = list(recorded) if len(recorded) == len(models) else [None] * len(models)
    return latencies, errors


def _known(gain: float | None) -> float:
    """A gain for sorting: unknown gains sort after every measured one."""
    return gain if gain is not None else -1e9


def _size(adaptor: Adaptor, model: Any) -> int | None:
    try:
        return adaptor.model_size(model)
    except NotSupportedError:
        return None


@dataclass
class Pruning:
    """What `prune` did: the new space and one line per decision, for the log."""

    space: TuningSpace
    removed: dict[str, str] = field(default_factory=dict)  # kind -> reason
    kept_forced: list[str] = field(default_factory=list)


def prune(space: TuningSpace, cost: CostModel, forced: Iterable[str] = (), drop_slower: bool = True) -> Pruning:
    """Drop kinds that gain nothing over fp32 (unless ``forced``); order each op's options by gain.

    ``drop_slower=False`` (an accuracy-only goal, ``min_gain=None``) keeps kinds that were
    measured but gain nothing, and drops only those whose preset failed to build.
    fp32 always stays, last. Within a kind the adaptor's option order is kept.
    """
    forced = set(forced)
    gains = {kind: cost.gain(kind) for kind in kinds(space)}
    removed: dict[str, str] = {}
    kept_forced: list[str] = []
    for kind, gain in gains.items():
        failed = kind in cost.presets and bool(cost.presets[kind].error)
        if (gain is not None and gain > 0) or not (failed or drop_slower):
            continue
        reason = (
            f"its preset failed to build ({cost.presets[kind].error})"
            if failed
            else "it is not faster or smaller than fp32 on this machine"
            if gain is not None
            else "its gain could not be measured"
        )
        if kind in forced:
            kept_forced.append(kind)
            logger.warning("keeping %s options as the constraints ask, although %s", kind, reason)
        else:
            removed[kind] = reason
            logger.info("%s options leave the default space: %s", kind, reason)
    _keep_the_closest_call(cost, gains, removed)
    rank = {kind: _known(gain) for kind, gain in gains.items()}
    kept = [kind for kind in cost.ranking() if kind in gains and kind not in removed]
    top = kept[0] if drop_slower and kept and _known(gains[kept[0]]) > 0 else None
    options: dict[str, tuple[OpOption, ...]] = {}
    for op in space.ops:
        reordered = _reorder(op, rank, removed, top, cost.objectives.measures_latency)
        if reordered != op.options:
            options[op.name] = reordered
    return Pruning(space.with_options(options) if options else space, removed, kept_forced)


def _keep_the_closest_call(cost: CostModel, gains: Mapping[str, float | None], removed: dict[str, str]) -> None:
    """When every kind would leave, keep the best one measured within `NOISE_MARGIN` of fp32.

    Dropping every mode ends the run with no evaluation; on a noisy machine a mode that
    is really a little faster can measure a little slower. Its trials are timed again,
    paired with fp32, and only a measured gain of ``min_gain`` meets the goal.
    """
    if not gains or set(gains) - set(removed):
        return
    best = next((k for k in cost.ranking() if k in removed and cost.gain(k) is not None), None)
    if best is None:
        return
    closeness = 1.0 + (cost.gain(best) or 0.0)  # the objective ratio vs fp32 (speed-up for latency)
    if closeness >= 1.0 - NOISE_MARGIN:
        del removed[best]
        logger.info(
            "no mode measured faster than fp32; keeping %s (%.2fx), within measurement noise: its trials' "
            "own paired benchmarks decide",
            best,
            closeness,
        )


def _reorder(
    op: OpSpec, rank: Mapping[str, float], removed: Mapping[str, str], top: str | None, latency: bool
) -> tuple[OpOption, ...]:
    """``op``'s kept options, best measured kind first; fp32 last.

    With a ``top`` kind (the gain goal is on) and a latency objective, the default config
    is the ``top`` preset exactly as it was measured: every op offering ``top`` starts
    with it, and every other op starts in fp32 (a static Add between dynamic MatMuls only
    adds conversions), its other options following by gain. For size alone, which adds up
    op by op, the others start at their own best kind. Without a ``top`` kind
    (accuracy-only), quantized kinds come before float dtypes, each by gain, as INC orders them.
    """
    kept = [o for o in op.options if option_kind(o) not in removed]
    if not kept:  # an op with neither fp32 nor a kept option: leave it as the adaptor listed it
        return op.options
    position = {o: i for i, o in enumerate(kept)}
    lacks_top = latency and top is not None and all(option_kind(o) != top for o in kept)

    def key(option: OpOption) -> tuple[int, float, int]:
        kind = option_kind(option)
        if kind == FP32:
            tier = -1 if lacks_top else 2
        elif top is not None:
            tier = 0
        else:
            tier = 1 if option.is_float else 0
        return tier, -rank.get(kind, -1e9), position[option]

    return tuple(sorted(kept, key=key))


def forced_kinds(*constraints: Mapping[str, Any] | None) -> set[str]:
    """Kinds the user's constraints name explicitly (``mode: dynamic``, ``dtype: fp16``)."""
    found: set[str] = set()
    for constraint in constraints:
        for value in _values(constraint, ("mode", "dtype")):
            found.add(str(value))
    return found


def _values(constraint: Mapping[str, Any] | None, keys: tuple[str, ...]) -> Iterable[Any]:
    if not constraint:
        return
    for key, value in constraint.items():
        if isinstance(value, Mapping):  # op_type_dict / op_name_dict: one constraint per entry
            yield from _values(value, keys)
        elif key in keys:
            yield from value if isinstance(value, (list, tuple, set)) else (value,)
