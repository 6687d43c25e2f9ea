"""auto (the default): the fastest measured mode first, then only the ops that must leave it.

Plan:
1. default: the space's default config, which core made the fastest measured preset
   (its cost model timed each uniform mode against fp32 before any evaluation). A
   config that meets the goal (passes and beats fp32 by ``min_gain``) ends a
   ``timeout=0`` run here.
2. presets: the other modes whose measured gain can still meet the goal, fastest
   first (e.g. dynamic int8 MatMuls, then static QDQ), one trial each (``max_presets``),
   until one meets it.
3. for each mode faster than any that met the goal and that failed the accuracy
   criterion, fastest first (with ``timeout=0`` only when none met):
   a. calibration: with static ops, the same config with each other activation
      calibration method the space offers (``act_algorithm``: entropy or percentile
      clip the outliers minmax keeps), one parallel batch; a passing one ends the
      search for this mode, else the best-scoring method is where b starts;
   b. fallback search: rank its fallback units (ops sharing one quantized tensor move together) by core's
   ``mse`` sensitivity (the error each op adds, computed once per mode), demote the
   top-k units for k = 1, 2, 4, ... in one parallel batch, then bisect between the
   last failing and the first passing k. A unit moves to a more accurate quantized mode
   (static -> int4 weight-only -> dynamic -> int8 weight-only) where sensitivity says
   it adds at most a quarter of its error there, else to float; if no k passes, the
   search repeats to float.
4. refine (``timeout > 0`` only; core keeps the passing config with the best
   objective): give the demoted units back their fast mode one at a time, least
   sensitive first, keeping each that still passes; then a cheaper float dtype for the
   units still in float (when the space kept bf16/fp16); then a lower-bit config.
5. if nothing passed (or the adaptor gives no sensitivity): basic's one-by-one and
   accumulated fallback from the default, per float dtype.

Stages 1-3 cost 1 + P + C + about 2 log2(N) trials for P presets, C calibration methods
and N units, so a model
that needs k culprits out of its fastest mode meets the goal in O(log N) evaluations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from inc_core import Batch, NotSupportedError, OpOption, Trial, TuneConfig, TuneStrategy
from inc_core.measure.cost import option_kind
from inc_core.strategy import FallbackDtype, NonNegativeInt, option_model
from inc_strategies import fallback, modes, quantized

logger = logging.getLogger("inc.strategy.auto")
Unit = tuple[str, ...]
MIDDLE_RATIO = 0.25
"""A unit moves to a more accurate quantized mode, not float, when its error there is at most this share."""
CALIBRATION_RECIPE = "act_algorithm"
"""The recipe naming the activation calibration method (minmax, entropy, percentile, ...)."""


@dataclass(frozen=True)
class Found:
    """A passing config, the mode config the search started from, and the units it demoted."""

    config: TuneConfig
    start: TuneConfig
    demoted: list[Unit]


class AutoTuneStrategy(TuneStrategy):
    """Measured presets fastest first, then sensitivity-ranked demotion found by bisection."""

    name = "auto"
    default_options: ClassVar[dict[str, Any]] = {"fallback_dtype": "fp32", "refine": True, "max_presets": 3}
    options_model = option_model(default_options, fallback_dtype=FallbackDtype, max_presets=NonNegativeInt)
    """``fallback_dtype``: float dtype of demoted ops with no more accurate mode; ``refine``: run
    stage 4; ``max_presets``: stage-2 presets at most."""

    def plan(self) -> list[str]:
        """The stages this strategy runs, one printable line each (with the measured modes once known)."""
        lines = super().plan()
        cost_model = getattr(getattr(self, "context", None), "cost_model", None)
        if cost_model is not None:
            lines.insert(0, f"measured modes: {cost_model.describe()}")
        return lines

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        self.stage = "default config (fastest measured preset)"
        default = self.initial_tuning_cfg()
        first: Trial = yield default
        tried: list[tuple[TuneConfig, Trial]] = [(default, first)]
        yield from self._presets(tried)
        met = next((i for i, (_, t) in enumerate(tried) if t.met), None)
        # With time left (else core has stopped at the met preset), faster modes that failed
        # may still win once their culprits leave them.
        found = yield from self._search_modes(tried if met is None else tried[:met])
        if found is None and met is not None:
            found = Found(tried[met][0], tried[met][0], [])
        if found is not None:
            yield from self._improve(found)
            return
        if not any(t.passed for t in self.trials):
            yield from self._basic_fallback(default)

    # Stage 2 -------------------------------------------------------------------------
    def _presets(self, tried: list[tuple[TuneConfig, Trial]]) -> Generator[Any, Any, None]:
        cost_model = getattr(self.context, "cost_model", None)
        order = modes.preset_order(self.space, cost_model, getattr(self.context, "min_gain", None))
        for kind in order[: max(0, self.options["max_presets"])]:
            if any(t.met for _, t in tried):
                return  # the remaining presets are slower than one that meets the goal
            config = modes.preset_config(self.space, kind)
            if any(config == c for c, _ in tried) or not config.reduces_precision():
                continue
            self.stage = f"{kind} preset"
            trial = yield config
            tried.append((config, trial))

    # Stage 3 -------------------------------------------------------------------------
    def _search_modes(self, tried: Sequence[tuple[TuneConfig, Trial]]) -> Generator[Any, Any, Found | None]:
        """Fallback search from each mode that failed accuracy, fastest first; the first that meets wins."""
        first_found: Found | None = None  # passes, but gains too little
        for start, trial in tried:
            if trial.passed:  # passes but gains too little: demoting ops only makes it slower
                continue
            start, trial = yield from self._calibrations(start, trial)
            found = Found(start, start, []) if trial.passed else (yield from self._search(start))
            if found is None:
                continue
            if self.best_trial is not None and self.best_trial.met:
                return found
            logger.info("auto: %s passes but gains too little; trying the next mode", self.stage)
            first_found = first_found or found
        return first_found

    def _calibrations(self, start: TuneConfig, trial: Trial) -> Generator[Any, Any, tuple[TuneConfig, Trial]]:
        """Stage 3a: ``start`` with each other calibration method; the passing or best-scoring one."""
        methods = self.space.recipes.get(CALIBRATION_RECIPE, ())
        current = start.recipes.get(CALIBRATION_RECIPE)
        if not any(start[op.name].mode == "static" for op in self.space.ops) or current not in methods:
            return start, trial
        variants = [start.replace(recipes={CALIBRATION_RECIPE: m}) for m in methods if m != current]
        if not variants:
            return start, trial
        self.stage = f"calibration methods for {', '.join(sorted({option_kind(o) for o in start.ops.values()}))}"
        trials = yield Batch(variants, stop_on_pass=True)
        best = (start, trial)
        for config, result in zip(variants, trials, strict=False):
            if result.passed:
                return config, result
            if self.better_score(result.score, best[1].score):
                best = (config, result)
        return best

    def _search(self, start: TuneConfig) -> Generator[Any, Any, Found | None]:
        """Smallest k such that the k most sensitive units of ``start``, demoted, pass; None if none does."""
        quantized_names = [op.name for op in fallback.quantized_ops(self.space, start)]
        units = self.space.units(quantized_names)
        try:
            scores = self.context.sensitivity("mse", start)
        except NotSupportedError as exc:
            logger.info("auto: no op sensitivity from the adaptor (%s); using basic's fallback order", exc)
            return None
        if not units:
            return None
        position = {unit: i for i, unit in enumerate(units)}
        ranked = sorted(units, key=lambda u: (-_unit_score(scores, u), position[u]))
        label = "fallback from " + ", ".join(sorted({option_kind(start[n]) for n in quantized_names}))
        targets = self._targets(start, ranked, scores)
        to_float = {unit: self._float_targets(start, unit) for unit in ranked}
        for moves in [targets, to_float] if targets != to_float else [to_float]:

            def demoted(k: int, moves: Mapping[Unit, dict[str, OpOption]] = moves) -> TuneConfig:
                return start.replace({name: o for unit in ranked[:k] for name, o in moves[unit].items()})

            k = yield from self._smallest_passing(demoted, len(ranked), label)
            if k is not None:
                return Found(demoted(k), start, ranked[:k])
            label += " to float"
        return None

    def _targets(
        self, start: TuneConfig, units: Sequence[Unit], scores: Mapping[str, float]
    ) -> dict[Unit, dict[str, OpOption]]:
        """Where each unit goes when demoted: a more accurate mode in which core's sensitivity says
        it adds at most `MIDDLE_RATIO` of its error (e.g. an outlier MatMul from static to
        dynamic), else float."""
        names = [n for u in units for n in u]
        middle = [
            k
            for k in modes.QUANTIZED_KINDS
            if any(modes.more_accurate_option(self.space.op(n), start[n], k) for n in names)
        ]
        middle_scores: dict[str, Mapping[str, float]] = {}
        for kind in middle:
            try:
                middle_scores[kind] = self.context.sensitivity("mse", modes.preset_config(self.space, kind))
            except NotSupportedError:
                continue
        moves = {}
        for unit in units:
            fast = _unit_score(scores, unit)
            moves[unit] = self._float_targets(start, unit)
            for kind, kind_scores in middle_scores.items():
                options = {n: modes.more_accurate_option(self.space.op(n), start[n], kind) for n in unit}
                if any(o is None for n, o in options.items() if not start[n].is_float) or fast <= 0:
                    continue
                if _unit_score(kind_scores, unit) <= MIDDLE_RATIO * fast:
                    moves[unit] = {n: o for n, o in options.items() if o is not None}
                    break
        return moves

    def _float_targets(self, start: TuneConfig, unit: Unit) -> dict[str, OpOption]:
        dtype = self._dtype()
        moves = {}
        for name in unit:
            op = self.space.op(name)
            option = op.float_option(dtype) or op.float_option("fp32")
            if option is not None and not start[name].is_float:
                moves[name] = option
        return moves

    def _smallest_passing(
        self, make: Callable[[int], TuneConfig], n: int, label: str
    ) -> Generator[Any, Any, int | None]:
        sizes = _exponential_sizes(n)
        self.stage = f"{label}: top-k units, exponential"
        trials = yield Batch([make(k) for k in sizes], stop_on_pass=True)
        passing = [k for k, t in zip(sizes, trials, strict=False) if t.passed]
        if not passing:
            return None
        hi = passing[0]
        lo = max([k for k in sizes if k < hi], default=0)
        self.stage = f"{label}: top-k units, bisection"
        while hi - lo > 1:
            mid = (lo + hi) // 2
            trial = yield make(mid)
            if trial.passed:
                hi = mid
            else:
                lo = mid
        return hi

    # Stage 4 -------------------------------------------------------------------------
    def _improve(self, found: Found) -> Generator[Any, Any, None]:
        """With time left: restore demoted units, cheaper float dtypes, lower bits."""
        if self.context.timeout == 0 or not self.options["refine"]:
            return
        config = found.config
        self.stage = "refine: restore demoted units"
        for unit in reversed(found.demoted):  # least sensitive first
            candidate = config.replace({name: found.start[name] for name in unit})
            if candidate == config:
                continue
            trial = yield candidate
            if trial.passed:
                config = candidate
        still_float = [name for unit in found.demoted for name in unit if config[name].is_float]
        for dtype in fallback.float_dtypes(self.space):
            if dtype == self._dtype():
                break  # only dtypes cheaper than the one the search used
            cheaper = fallback.fallback(self.space, config, still_float, dtype)
            if cheaper != config:
                self.stage = f"refine: float units in {dtype}"
                trial = yield cheaper
                if trial.passed:
                    config = cheaper
                    break
        lower = quantized.lower_bit(self.space, config)
        if lower is not None:
            self.stage = "refine: lower-bit config"
            yield lower

    # Stage 5 -------------------------------------------------------------------------
    def _basic_fallback(self, default: TuneConfig) -> Generator[Any, Any, None]:
        for dtype in fallback.float_dtypes(self.space):
            if (yield from fallback.fallback_pass(self, default, dtype, fallback.bottom_up(self.space, default))):
                return

    def _dtype(self) -> str:
        wanted = self.options["fallback_dtype"]
        available = fallback.float_dtypes(self.space)
        return wanted if wanted in available else (available[-1] if available else wanted)


def _unit_score(scores: Mapping[str, float], unit: Unit) -> float:
    return max((scores.get(name, 0.0) for name in unit), default=0.0)


def _exponential_sizes(n: int) -> list[int]:
    """1, 2, 4, ... up to and including n."""
    sizes, k = [], 1
    while k < n:
        sizes.append(k)
        k *= 2
    sizes.append(n)
    return sizes
