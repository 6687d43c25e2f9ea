"""One exception hierarchy for everything inc raises on purpose."""

from __future__ import annotations


class IncError(Exception):
    """Base class of every error inc raises deliberately."""


class ConfigError(IncError, ValueError):
    """A user setting is invalid; the message names the field and what was expected."""


class PluginLoadError(IncError):
    """A plugin could not be loaded (raised only in strict mode; otherwise a warning)."""


class UnknownNameError(ConfigError, KeyError):
    """A strategy or adaptor name that no installed plugin registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class AdaptorError(IncError):
    """A framework adaptor could not load, quantize or measure a model."""


class NotSupportedError(AdaptorError):
    """The adaptor does not implement an optional capability (benchmark, sensitivity, ...)."""


class BaselineError(IncError):
    """The fp32 baseline could not be measured, so no trial can be judged."""


class TrialError(IncError):
    """One trial failed (quantizer failure, eval exception, NaN score); the run goes on."""


class HistoryError(IncError):
    """The run directory's history cannot be used (wrong format, another space on resume)."""


class WorkerLostError(IncError):
    """The worker process running a trial died (killed, crashed); the trial is run again elsewhere."""


class TaskTimeoutError(TrialError):
    """A trial ran past ``trial_timeout``; its worker process was killed."""


class WorkerStartError(AdaptorError):
    """No trial worker could start (e.g. a worker cannot import the model's framework)."""


class RunDirLockedError(IncError):
    """Another process is tuning in this run directory (one writer per run directory)."""
