"""greedy: the default config, then fall back the most sensitive quantized op, one at a time.

Each step asks core for per-op sensitivity of the current config (the adaptor's
``mse``, cached by core) and falls back the highest-scoring op to fp32, until a config
passes or nothing is left to fall back. Without sensitivity it falls back bottom-up.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, ClassVar

from inc_core import NotSupportedError, TuneStrategy


class GreedyTuneStrategy(TuneStrategy):
    """Greedy fallback of the most sensitive op until the goal is met."""

    name = "greedy"
    default_options: ClassVar[dict[str, Any]] = {"fallback_dtype": "fp32"}

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        self.stage = "default config"
        config = self.initial_tuning_cfg()
        trial = yield config
        dtype = self.options["fallback_dtype"]
        self.stage = f"greedy fallback to {dtype}"
        while not trial.passed:
            candidates = [
                op.name for op in self.space.ops if not config[op.name].is_float and op.float_option(dtype) is not None
            ]
            if not candidates:
                return
            try:
                scores = self.context.sensitivity("mse", config, candidates)
                worst = max(candidates, key=lambda name: scores.get(name, 0.0))
            except NotSupportedError:
                worst = candidates[-1]
            config = self.space.with_float(config, [worst], dtype)
            trial = yield config
