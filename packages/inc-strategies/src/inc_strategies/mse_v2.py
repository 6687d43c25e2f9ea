"""mse_v2: greedily fall back the op whose fallback reduces the output error most.

Plan:
1. up to 2 op-type-wise configs (the first is the default);
2. repeat from the best of them: shortlist the ``candidates`` still quantized ops with
   the highest ``mse`` (the error each op adds; one pass), measure how much falling
   back each of them *alone* reduces the output error (``mse_v2`` sensitivity, one
   build and run per candidate), fall back the best one (accumulating), and evaluate;
   until a config passes or nothing is left;
3. then re-quantize the fallen-back ops whose fallback helped least, one at a time,
   keeping each that still passes (only with ``timeout > 0``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, ClassVar

from inc_core import Batch, ConfigError, NotSupportedError, TuneConfig, TuneStrategy
from inc_core.strategy import FallbackDtype, PositiveInt, option_model
from inc_strategies import fallback, quantized


class MSE_V2TuneStrategy(TuneStrategy):  # noqa: N801 - INC's public name
    """INC's mse_v2: accumulate the fallback that lowers output MSE most, then prune it."""

    name = "mse_v2"
    default_options: ClassVar[dict[str, Any]] = {"fallback_dtype": "fp32", "candidates": 8}
    options_model = option_model(default_options, fallback_dtype=FallbackDtype, candidates=PositiveInt)
    """``candidates``: ops (by ``mse`` rank) whose fallback gain ``mse_v2`` measures per greedy step."""

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        self.stage = "op-type-wise configs"
        configs = [c for _, c in zip(range(2), quantized.quantized_type_wise(self.space), strict=False)]
        trials = yield Batch(configs)
        if any(t.passed for t in trials) and self.context.timeout == 0:
            return
        dtype = self.options["fallback_dtype"]
        config = fallback.best_of(self, configs)
        fallen: list[tuple[str, float]] = []
        passed = any(t.passed for t in trials)
        self.stage = f"greedy fallback to {dtype}"
        while not passed:
            candidates = [op.name for op in fallback.quantized_ops(self.space, config) if op.float_option(dtype)]
            if not candidates:
                return
            gains = self._gains(config, candidates)
            name = fallback.sensitivity_order(gains, [c for c in candidates if c in gains] or candidates)[0]
            fallen.append((name, gains.get(name, 0.0)))
            config = fallback.fallback(self.space, config, [name], dtype)
            trial = yield config
            passed = trial.passed
        if self.context.timeout == 0:
            return
        self.stage = "re-quantize the least useful fallbacks"
        default = self.initial_tuning_cfg()
        for name, _ in sorted(fallen, key=lambda item: item[1]):
            candidate = config.replace({n: default[n] for n in self.space.unit(name)})
            trial = yield candidate
            if trial.passed:
                config = candidate

    def _gains(self, config: TuneConfig, candidates: list[str]) -> dict[str, float]:
        """``mse_v2`` gains of the ``candidates`` option's top ops by ``mse`` (one cheap pass ranks
        them; measuring every op's fallback gain costs one model build and run per op)."""
        try:
            shortlist = fallback.sensitivity_order(self.context.sensitivity("mse", config), candidates)
        except NotSupportedError:
            shortlist = candidates
        shortlist = shortlist[: max(1, self.options["candidates"])]
        try:
            return dict(self.context.sensitivity("mse_v2", config, shortlist))
        except NotSupportedError as exc:
            raise ConfigError(
                f"strategy 'mse_v2' needs per-op fallback gains (mse_v2 sensitivity), which this adaptor "
                f"does not provide ({exc}); use strategy 'mse', 'basic' or 'auto'"
            ) from exc
