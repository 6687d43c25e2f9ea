"""An eval function that returns scripted scores in call order (a fake user eval)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ScriptedEvaluator:
    """Returns ``baseline`` on the first call, then ``scores`` in order (the last repeats).

    ``configs`` records the tune config of each evaluated model (None for fp32).
    """

    def __init__(self, scores: Sequence[float], baseline: float = 1.0) -> None:
        self.baseline = baseline
        self.scores = list(scores)
        self.calls = 0
        self.configs: list[Any] = []

    def __call__(self, model: Any) -> float:
        self.configs.append(getattr(model, "config", None))
        self.calls += 1
        if self.calls == 1:
            return self.baseline
        index = min(self.calls - 2, len(self.scores) - 1)
        return self.scores[index]

    @property
    def trial_configs(self) -> list[Any]:
        return self.configs[1:]
