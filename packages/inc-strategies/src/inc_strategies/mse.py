"""mse: fall back ops in the order of their measured output error.

Plan:
1. up to ``op_type_wise`` op-type-wise configs (the first is the default);
2. for each float dtype d the model supports, starting from the best of those configs:
   rank its quantized ops by the MSE between fp32 and quantized outputs (one
   inspection by the adaptor, cached), fall back one by one in that order (most
   sensitive first), then accumulated in the order the one-by-one trials' accuracy
   measured (best first).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, ClassVar

from inc_core import Batch, TuneConfig, TuneStrategy
from inc_strategies import stages


def best_of(strategy: TuneStrategy, configs: list[TuneConfig]) -> TuneConfig:
    """The config among ``configs`` whose consumed trial scored best (the first if none scored)."""
    scored = [t for t in strategy.trials if t.config in set(configs) and t.score is not None]
    best = scored[0] if scored else None
    for trial in scored[1:]:
        if strategy.better_score(trial.score, best.score if best else None):
            best = trial
    return best.config if best else configs[0]


class MSETuneStrategy(TuneStrategy):
    """INC's mse strategy: one-by-one fallback ordered by per-op output MSE."""

    name = "mse"
    default_options: ClassVar[dict[str, Any]] = {"op_type_wise": 3}

    def plan(self) -> list[str]:
        """The stages this strategy runs, one printable line each."""
        return stages.plan_lines(__doc__)

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        self.stage = "op-type-wise configs"
        configs = [
            c
            for _, c in zip(
                range(max(1, self.options["op_type_wise"])), stages.quantized_type_wise(self.space), strict=False
            )
        ]
        trials = yield Batch(configs)
        if any(t.passed for t in trials) and self.context.timeout == 0:
            return
        base = best_of(self, configs)
        scores = self.context.sensitivity("mse", base)
        order = stages.sensitivity_order(scores, [op.name for op in stages.quantized_ops(self.space, base)])
        for dtype in stages.float_dtypes(self.space):
            if (yield from stages.fallback_pass(self, base, dtype, order)):
                return
