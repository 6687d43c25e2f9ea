"""inc-core: accuracy-aware quantization tuning, framework-neutral.

Importing this package is cheap: no framework, no plugin is loaded until used.
"""

from inc_core.adaptor import Adaptor, Calibration
from inc_core.api import autotune, init_tuning
from inc_core.config import TuningConfig
from inc_core.config_loader import ConfigLoader, Sampler, SequentialSampler
from inc_core.criterion import Criterion
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
from inc_core.evaluator import Evaluator
from inc_core.history import TrialHistory
from inc_core.hookspecs import hookimpl
from inc_core.logger import TuningLogger
from inc_core.monitor import StopReason, TuningMonitor
from inc_core.plugins import get_plugin_manager, make_plugin_manager
from inc_core.registry import strategy_registry
from inc_core.result import TuningResult
from inc_core.space import Capability, OpSpec, TuningSpace
from inc_core.strategy import Batch, Proposal, StrategyContext, TuneStrategy
from inc_core.trial import Trial, TrialState
from inc_core.tune_config import FLOAT_DTYPES, OpOption, TuneConfig

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
