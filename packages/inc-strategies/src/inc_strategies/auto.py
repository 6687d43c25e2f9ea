"""auto (the default): the fastest path to the goal, then a better objective if time allows.

Plan:
1. default: every op at its first option (one trial). Passing with ``timeout=0`` ends here.
2. group pass: conservative's op-type groups (conv, matmul, bmm, linear) quantized one
   group at a time from all-float, keeping those that pass (at most 4 trials).
3. sensitivity search: rank the default config's ops by per-op sensitivity (the
   adaptor's ``mse``); fall back the top-k ops to float, finding the smallest passing k
   by exponential search (k = 1, 2, 4, ...; one parallel batch) and then bisection:
   O(log N) trials where one-by-one fallback needs O(N).
4. refine (``timeout > 0`` only; core keeps the passing config with the best
   objective): re-quantize the fallen-back ops one at a time, least sensitive first,
   keeping each one that still passes; then the ops still in float in a cheaper float
   dtype (bf16, else fp16; only those that support it, one trial per dtype, kept if it
   passes); then a lower-bit (e.g. int4) config.
5. if nothing passed (or the adaptor has no sensitivity): basic's fallback passes
   (one-by-one bottom-up, then accumulated by measured accuracy) per float dtype.

Stages 1-3 cost 1 + at most 4 + about 2 log2(N) trials, so with ``timeout=0`` auto
reaches a goal that needs k sensitive ops in float in O(log N) evaluations where
basic's one-by-one fallback needs O(N). `AutoTuneStrategy.plan` prints the stages.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from typing import Any, ClassVar

from inc_core import Batch, NotSupportedError, Trial, TuneConfig, TuneStrategy
from inc_core.strategy import FallbackDtype, option_model
from inc_strategies import stages
from inc_strategies.conservative import all_float, group_pass

logger = logging.getLogger("inc.strategy.auto")


class AutoTuneStrategy(TuneStrategy):
    """Default first, op-type groups, then sensitivity-ranked fallback found by bisection."""

    name = "auto"
    default_options: ClassVar[dict[str, Any]] = {"fallback_dtype": "fp32", "group_pass": True, "refine": True}
    options_model = option_model(default_options, fallback_dtype=FallbackDtype)
    """``fallback_dtype``: float dtype of fallen-back ops; ``group_pass``/``refine``: run stages 2/4."""

    def plan(self) -> list[str]:
        """The stages this strategy runs, one printable line each."""
        return stages.plan_lines(__doc__)

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        self.stage = "default config"
        default = self.initial_tuning_cfg()
        first: Trial = yield default
        if first.passed:
            yield from self._improve(default, [])
            return
        if self.options["group_pass"]:
            grouped = yield from group_pass(self, all_float(self))
            if self.best_trial is not None and self.best_trial.passed and self.context.timeout == 0:
                return
        else:
            grouped = None
        found = yield from self._sensitivity_search(default)
        if found is not None:
            config, fallen = found
            yield from self._improve(config, fallen)
            return
        if grouped is not None and self.best_trial is not None and self.best_trial.passed:
            return
        yield from self._basic_fallback(default)

    # Stage 3 -------------------------------------------------------------------------
    def _sensitivity_search(self, default: TuneConfig) -> Generator[Any, Any, tuple[TuneConfig, list[str]] | None]:
        """Smallest k such that the k most sensitive ops in float pass; None if none does."""
        dtype = self._dtype()
        candidates = [
            op.name for op in stages.quantized_ops(self.space, default) if self.space.op(op.name).float_option(dtype)
        ]
        if not candidates:
            return None
        try:
            scores = self.context.sensitivity("mse", default)
        except NotSupportedError as exc:
            logger.info("auto: no op sensitivity from the adaptor (%s); using basic's fallback order", exc)
            return None
        ranked = stages.sensitivity_order(scores, candidates)

        def with_top(k: int) -> TuneConfig:
            return stages.fallback(self.space, default, ranked[:k], dtype)

        sizes = _exponential_sizes(len(ranked))
        self.stage = f"sensitivity search: top-k ops to {dtype}, exponential"
        trials = yield Batch([with_top(k) for k in sizes], stop_on_pass=True)
        passing = [k for k, t in zip(sizes, trials, strict=False) if t.passed]
        if not passing:
            return None
        hi = passing[0]
        lo = max([k for k in sizes if k < hi], default=0)
        self.stage = f"sensitivity search: top-k ops to {dtype}, bisection"
        while hi - lo > 1:
            mid = (lo + hi) // 2
            trial = yield with_top(mid)
            if trial.passed:
                hi = mid
            else:
                lo = mid
        return with_top(hi), ranked[:hi]

    # Stage 4 -------------------------------------------------------------------------
    def _improve(self, config: TuneConfig, fallen: Sequence[str]) -> Generator[Any, Any, None]:
        """With time left: re-quantize unneeded fallbacks, cheaper float dtypes, lower bits."""
        if self.context.timeout == 0 or not self.options["refine"]:
            return
        default = self.initial_tuning_cfg()
        self.stage = "refine: re-quantize fallen-back ops"
        kept: list[str] = []
        for name in reversed(fallen):  # least sensitive first
            candidate = config.replace({name: default[name]})
            trial = yield candidate
            if trial.passed:
                config = candidate
            else:
                kept.append(name)
        for dtype in stages.float_dtypes(self.space):
            if dtype == self._dtype():
                break  # only dtypes cheaper than the one the search used
            cheaper = stages.fallback(self.space, config, kept, dtype)
            if cheaper != config:
                self.stage = f"refine: fallen-back ops in {dtype}"
                trial = yield cheaper
                if trial.passed:
                    config = cheaper
                    break
        lower = stages.lower_bit(self.space, config)
        if lower is not None:
            self.stage = "refine: lower-bit config"
            yield lower

    # Stage 5 -------------------------------------------------------------------------
    def _basic_fallback(self, default: TuneConfig) -> Generator[Any, Any, None]:
        for dtype in stages.float_dtypes(self.space):
            if (yield from stages.fallback_pass(self, default, dtype, stages.bottom_up(self.space, default))):
                return

    def _dtype(self) -> str:
        wanted = self.options["fallback_dtype"]
        available = stages.float_dtypes(self.space)
        return wanted if wanted in available else (available[-1] if available else wanted)


def _exponential_sizes(n: int) -> list[int]:
    """1, 2, 4, ... up to and including n."""
    sizes, k = [], 1
    while k < n:
        sizes.append(k)
        k *= 2
    sizes.append(n)
    return sizes
