"""A third-party strategy: quantize everything, then fall back op types one at a time (last first)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from inc_core import TuneStrategy, hookimpl


class ToyTuneStrategy(TuneStrategy):
    """Default config, then each op type in fp32 (last type first), accumulating while it fails."""

    name = "toy"

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        config = self.initial_tuning_cfg()
        self.stage = "default"
        yield config
        self.stage = "type fallback"
        for op_type in reversed(self.space.op_types):
            if self.meet_acc_req():
                return
            config = self.space.with_float(config, [op.name for op in self.space.ops_of_type(op_type)])
            yield config


@hookimpl
def inc_register_strategies(register: Callable[[str, type], None]) -> None:
    register("toy", ToyTuneStrategy)
