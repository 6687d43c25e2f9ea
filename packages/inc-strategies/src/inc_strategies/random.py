"""random: uniformly sampled, distinct op-wise configs (seeded by ``TuningConfig.random_seed``).

Plan:
1. the default config (every strategy's first trial);
2. draw configs uniformly (every op one of its options, every recipe one of its
   values) from a generator seeded with the run's seed; each is a fresh value and
   duplicates are skipped; one lazy batch, so parallel workers share it;
3. stop when every config of the space was drawn (or at ``max_trials``/the goal).
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
        self.stage = "default config"
        default = self.initial_tuning_cfg()
        yield default
        self.stage = "random sampling"
        yield Batch(self._samples(default))

    def _samples(self, default: TuneConfig) -> Iterator[TuneConfig]:
        rng = np.random.default_rng(self.context.seed)
        ops = self.space.ops
        counts = np.array([len(op.options) for op in ops])
        recipes = list(self.space.recipes.items())
        size = self.space.size()
        seen: set[TuneConfig] = {default}
        while len(seen) < size:
            picks = (rng.random(len(ops)) * counts).astype(int)
            recipe_values = {name: values[int(rng.integers(len(values)))] for name, values in recipes}
            config = TuneConfig({op.name: op.options[i] for op, i in zip(ops, picks, strict=True)}, recipe_values)
            if config not in seen:
                seen.add(config)
                yield config
