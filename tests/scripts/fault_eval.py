"""Eval functions for the fault tests and benchmark: synthetic accuracy, slowly, each evaluation logged.

For run files (`slow_accuracy`): ``INC_FAULT_DELAY`` (seconds, default 0.2) per evaluation of
a quantized model; ``INC_FAULT_LOG``: a file each evaluated config's JSON is appended to;
``INC_FAULT_HANG``: the first quantized evaluation in a process hangs for an hour.
In Python, `SlowAccuracy(delay, log)` carries its settings to Dask workers (pickled by value).
"""

from __future__ import annotations

import os
import time
from typing import Any

from inc_core.testing import synthetic_accuracy

_hung: list[bool] = []


class SlowAccuracy:
    """Synthetic accuracy after ``delay`` seconds; appends each evaluated config to ``log``."""

    def __init__(self, delay: float = 0.2, log: str | None = None, hang_first: bool = False) -> None:
        self.delay, self.log, self.hang_first = delay, log, hang_first

    def __call__(self, model: Any) -> float:
        if model.config is not None:
            if self.log:
                with open(self.log, "a", encoding="utf-8") as out:
                    out.write(model.config.to_json() + "\n")
            if self.hang_first and not _hung:
                _hung.append(True)
                time.sleep(3600)
            time.sleep(self.delay)
        return synthetic_accuracy(model)


def slow_accuracy(model: Any) -> float:
    """`SlowAccuracy` configured from the environment (for run files)."""
    env = os.environ
    return SlowAccuracy(
        float(env.get("INC_FAULT_DELAY", "0.2")), env.get("INC_FAULT_LOG"), bool(env.get("INC_FAULT_HANG"))
    )(model)
