"""What the user says: `TuningConfig`, the accuracy `Criterion`, the `Objectives` weights, `ConfigLoader`."""

from inc_core.config.criterion import Criterion
from inc_core.config.loader import ConfigLoader, Sampler, SequentialSampler
from inc_core.config.objectives import Objectives
from inc_core.config.tuning import TuningConfig

__all__ = ["ConfigLoader", "Criterion", "Objectives", "Sampler", "SequentialSampler", "TuningConfig"]
