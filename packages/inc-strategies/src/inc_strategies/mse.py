"""mse: fall back ops in the order of their measured output error.

Plan:
1. up to ``op_type_wise`` op-type-wise configs (the first is the default);
2. for each float dtype d the model supports, starting from the best of those configs:
   rank its quantized ops by the MSE between fp32 and quantized outputs (one
   inspection by the adaptor, cached), fall back one by one in that order (most
   sensitive first), then accumulated in the order the one-by-one trials' accuracy
   measured (best first). An adaptor without MSE sensitivity: a warning, and
   bottom-up order instead.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any, ClassVar

from inc_core import Batch, NotSupportedError, TuneStrategy
from inc_core.strategy import NonNegativeInt, option_model
from inc_strategies import fallback, quantized

logger = logging.getLogger("inc.strategy.mse")


class MSETuneStrategy(TuneStrategy):
    """INC's mse strategy: one-by-one fallback ordered by per-op output MSE."""

    name = "mse"
    default_options: ClassVar[dict[str, Any]] = {"op_type_wise": 3}
    options_model = option_model(default_options, op_type_wise=NonNegativeInt)

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        self.stage = "op-type-wise configs"
        configs = [
            c
            for _, c in zip(
                range(max(1, self.options["op_type_wise"])), quantized.quantized_type_wise(self.space), strict=False
            )
        ]
        trials = yield Batch(configs)
        if any(t.passed for t in trials) and self.context.timeout == 0:
            return
        base = fallback.best_of(self, configs)
        quantized_names = [op.name for op in fallback.quantized_ops(self.space, base)]
        try:
            order = fallback.sensitivity_order(self.context.sensitivity("mse", base), quantized_names)
        except NotSupportedError as exc:
            logger.warning("mse: the adaptor has no per-op MSE (%s); falling back in bottom-up order instead", exc)
            order = list(reversed(quantized_names))
        for dtype in fallback.float_dtypes(self.space):
            if (yield from fallback.fallback_pass(self, base, dtype, order)):
                return
