"""hawq_v2: fall back ops by descending Hessian trace of their weights.

Plan:
1. the default config (one trial);
2. ask the adaptor for each op's Hessian trace (Hutchinson estimator over calibration
   data with the user's loss; needs autograd, i.e. the torch adaptor);
3. fall back accumulatively: the top-1, top-2, ... ops by trace in float (one batch
   that stops at its first passing config).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, ClassVar

from inc_core import Batch, ConfigError, NotSupportedError, TuneStrategy
from inc_core.strategy import FallbackDtype, option_model
from inc_strategies import fallback


class HAWQ_V2TuneStrategy(TuneStrategy):  # noqa: N801 - INC's public name
    """INC's hawq_v2: second-order (Hessian trace) sensitivity decides the fallback order."""

    name = "hawq_v2"
    default_options: ClassVar[dict[str, Any]] = {"fallback_dtype": "fp32"}
    options_model = option_model(default_options, fallback_dtype=FallbackDtype)

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        self.stage = "default config"
        default = self.initial_tuning_cfg()
        first = yield default
        if first.passed and self.context.timeout == 0:
            return
        try:
            traces = self.context.sensitivity("hawq_v2", default)
        except NotSupportedError as exc:
            raise ConfigError(
                f"strategy 'hawq_v2' needs Hessian-trace sensitivity, which this adaptor does not provide ({exc}); "
                "use the torch adaptor with a loss_fn, or strategy 'mse'/'auto'"
            ) from exc
        dtype = self.options["fallback_dtype"]
        ranked = fallback.sensitivity_order(traces, [op.name for op in fallback.quantized_ops(self.space, default)])
        self.stage = f"accumulated fallback to {dtype} by Hessian trace"
        yield Batch(fallback.accumulated(self.space, default, dtype, ranked, start=1), stop_on_pass=True)
