"""What can be tuned: each op's options (`tune_config`), the adaptor's `Capability`, the constrained `TuningSpace`."""

from inc_core.space.capability import Capability, OpSpec
from inc_core.space.space import TuningSpace
from inc_core.space.tune_config import FLOAT_DTYPES, OpOption, TuneConfig

__all__ = ["FLOAT_DTYPES", "Capability", "OpOption", "OpSpec", "TuneConfig", "TuningSpace"]
