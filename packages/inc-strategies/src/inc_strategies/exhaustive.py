"""exhaustive: every op-wise combination, in order (the last op varies fastest).

Plan:
1. warn (``warnings.warn`` and the ``inc`` log) with the space size when it exceeds
   ``max_trials``: only the first configs will be tried;
2. every op-wise combination, recipes at their defaults, as one lazy batch (parallel
   workers share it; the lowest-index passing config wins).

Only sensible for tiny spaces.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Generator
from typing import Any

from inc_core import Batch, TuneStrategy

logger = logging.getLogger("inc.strategy.exhaustive")


class ExhaustiveTuneStrategy(TuneStrategy):
    """INC's exhaustive strategy: the full op-wise product, no fallback logic."""

    name = "exhaustive"

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        size = self.space.size()
        if size > self.context.max_trials:
            message = (
                f"exhaustive: the tuning space has {size:,} configs but max_trials is {self.context.max_trials}; "
                "only the first ones will be tried (narrow the space or pick another strategy)"
            )
            warnings.warn(message, UserWarning, stacklevel=2)
            logger.warning(message)
        self.stage = "op-wise product"
        yield Batch(self.space.op_wise_configs())
