"""random: uniformly sampled, distinct op-wise configs (seeded by ``TuningConfig.random_seed``).

Each config is a fresh value (every op draws one of its options); duplicates are
skipped. Configs form one lazy batch, so parallel workers share them.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import numpy as np

from inc_core import Batch, TuneConfig, TuneStrategy


class RandomTuneStrategy(TuneStrategy):
    """INC's random strategy: seeded uniform sampling over the op-wise space."""

    name = "random"

    def next_tune_cfg(self) -> Generator[Any, Any, None]:
        self.stage = "random sampling"
        yield Batch(self._samples())

    def _samples(self) -> Iterator[TuneConfig]:
        rng = np.random.default_rng(self.context.seed)
        ops = self.space.ops
        counts = np.array([len(op.options) for op in ops])
        recipes = list(self.space.recipes.items())
        size = self.space.size()
        seen: set[TuneConfig] = set()
        while len(seen) < size:
            picks = (rng.random(len(ops)) * counts).astype(int)
            recipe_values = {name: values[int(rng.integers(len(values)))] for name, values in recipes}
            config = TuneConfig({op.name: op.options[i] for op, i in zip(ops, picks, strict=True)}, recipe_values)
            if config not in seen:
                seen.add(config)
                yield config
