"""basic: INC's staged walk from op-type-wise configs to op-by-op float fallback.

Plan:
1. the default op-type-wise config (every op at its first option);
2. with ``timeout > 0`` and a passing default: a lower-bit (e.g. int4) config;
3. "apply all recipes" once (every on/off recipe switched on);
4. the other op-type-wise configs (quantized options, last op type varying fastest);
5. static -> dynamic switch for every op that offers dynamic quantization;
6. for each float dtype d (bf16, fp16, fp32) the model supports, each pass starting
   from the best config of stages 1-5: block-wise fallback (blocks last to first,
   accumulated), one-by-one fallback bottom-up, accumulated fallback ordered by the
   accuracy each op's one-by-one trial measured.

Worst case about C + 4N trials (C op-type-wise configs, N ops). Stages 4 and 6 are
batches: their configs run in parallel when several workers are available.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, ClassVar

from inc_core import Batch, Trial, TuneConfig, TuneStrategy
from inc_core.strategy import NonNegativeInt, option_model
from inc_strategies import fallback, quantized


class BasicTuneStrategy(TuneStrategy):
    """INC's basic strategy: op-type-wise configs, then op-by-op fallback to float."""

    name = "basic"
    default_options: ClassVar[dict[str, Any]] = {"max_op_type_wise": 0}
    options_model = option_model(default_options, max_op_type_wise=NonNegativeInt)
    """``max_op_type_wise``: cap on stage-4 configs (0 = all, as INC)."""

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        space = self.space
        type_wise = quantized.quantized_type_wise(space)
        self.stage = "default op-type-wise config"
        default = next(type_wise)
        first: Trial = yield default
        if first.passed and self.context.timeout > 0:
            lower = quantized.lower_bit(space, default)
            if lower is not None:
                self.stage = "lower-bit config"
                yield lower
        recipes = quantized.all_recipes(space, default)
        if recipes is not None:
            self.stage = "apply all recipes"
            yield recipes
        self.stage = "op-type-wise configs"
        cap = self.options["max_op_type_wise"]
        others = list(type_wise) if not cap else [c for _, c in zip(range(cap), type_wise, strict=False)]
        yield Batch(others)
        dynamic = quantized.dynamic_switch(space, self._best_quantized_config())
        if dynamic is not None:
            self.stage = "static to dynamic switch"
            yield dynamic
        yield from self._fallback_stages(self._best_quantized_config())

    def _best_quantized_config(self) -> TuneConfig:
        """The best config so far among fully quantized ones (stage 1-5 results)."""
        candidates = [t for t in self.trials if t.score is not None and not t.config.float_ops()]
        if not candidates:
            return self.initial_tuning_cfg()
        return min(candidates, key=lambda t: self.score_key(t.score)).config

    def _fallback_stages(self, base: TuneConfig) -> Generator[Any, Any, None]:
        for dtype in fallback.float_dtypes(self.space):
            for block_configs in self._block_fallback(base, dtype):
                self.stage = f"block-wise fallback to {dtype}"
                trials = yield Batch(block_configs, stop_on_pass=True)
                if any(t.passed for t in trials):
                    return
            if (yield from fallback.fallback_pass(self, base, dtype, fallback.bottom_up(self.space, base))):
                return

    def _block_fallback(self, base: TuneConfig, dtype: str) -> list[list[TuneConfig]]:
        blocks = fallback.blocks(self.space, base)
        if not blocks:
            return []
        configs, names = [], []
        for block in blocks:
            names += block
            configs.append(fallback.fallback(self.space, base, names, dtype))
        return [configs]
