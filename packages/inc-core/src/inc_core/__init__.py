"""inc-core: accuracy-aware quantization tuning, framework-neutral.

Importing this package is cheap: no framework, no plugin is loaded until used.
"""

from inc_core.adaptor.base import Adaptor, Calibration
from inc_core.api import autotune, init_tuning
from inc_core.config.criterion import Criterion
from inc_core.config.loader import ConfigLoader, Sampler, SequentialSampler
from inc_core.config.tuning import TuningConfig
from inc_core.errors import (
    AdaptorError,
    BaselineError,
    ConfigError,
    HistoryError,
    IncError,
    NotSupportedError,
    PluginLoadError,
    TrialError,
)
from inc_core.evaluate.evaluator import Evaluator
from inc_core.history.result import TuningResult
from inc_core.history.store import TrialHistory
from inc_core.history.trial import Trial, TrialState
from inc_core.plugins.hookspecs import hookimpl
from inc_core.plugins.local import strategy_registry
from inc_core.plugins.logger import TuningLogger
from inc_core.plugins.manager import get_plugin_manager, make_plugin_manager
from inc_core.run.monitor import StopReason, TuningMonitor
from inc_core.space.capability import Capability, OpSpec
from inc_core.space.space import TuningSpace
from inc_core.space.tune_config import FLOAT_DTYPES, OpOption, TuneConfig
from inc_core.strategy import Batch, Proposal, StrategyContext, TuneStrategy

__version__ = "0.1.0"

__all__ = [
    "FLOAT_DTYPES",
    "Adaptor",
    "AdaptorError",
    "BaselineError",
    "Batch",
    "Calibration",
    "Capability",
    "ConfigError",
    "ConfigLoader",
    "Criterion",
    "Evaluator",
    "HistoryError",
    "IncError",
    "NotSupportedError",
    "OpOption",
    "OpSpec",
    "PluginLoadError",
    "Proposal",
    "Sampler",
    "SequentialSampler",
    "StopReason",
    "StrategyContext",
    "Trial",
    "TrialError",
    "TrialHistory",
    "TrialState",
    "TuneConfig",
    "TuneStrategy",
    "TuningConfig",
    "TuningLogger",
    "TuningMonitor",
    "TuningResult",
    "TuningSpace",
    "autotune",
    "get_plugin_manager",
    "hookimpl",
    "init_tuning",
    "make_plugin_manager",
    "strategy_registry",
]
