"""All hook specifications of the ``inc`` pluggy project, in one place.

Registration hooks receive a ``register`` callable (so core validates names,
rejects duplicates and records which distribution registered what). Lifecycle
hooks are notifications: progress display, logging and history writing are
ordinary plugins on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from inc_core.history.result import TuningResult
    from inc_core.history.trial import Trial
    from inc_core.run.runner import TuningRun

PROJECT = "inc"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def inc_register_strategies(register: Callable[[str, type], None]) -> None:
    """Called once when the plugin manager is built: call ``register(name, cls)`` per strategy.

    ``cls`` must subclass `inc_core.TuneStrategy`. Do not import heavy libraries here.
    """


@hookspec
def inc_register_adaptors(register: Callable[[str, type], None]) -> None:
    """Called once when the plugin manager is built: call ``register(name, cls)`` per adaptor.

    ``cls`` must subclass `inc_core.Adaptor`; its module must not import the framework
    at import time (torch, onnxruntime, ...), only when a model is handled.
    """


@hookspec
def inc_tuning_start(run: TuningRun) -> None:
    """Called after the baseline is measured and before the first trial starts."""


@hookspec
def inc_trial_start(run: TuningRun, trial: Trial) -> None:
    """Called when a trial is handed to the executor (``trial.state`` is running)."""


@hookspec
def inc_trial_end(run: TuningRun, trial: Trial) -> None:
    """Called when a trial finished (complete or failed), after it is durably recorded."""


@hookspec
def inc_tuning_end(run: TuningRun, result: TuningResult) -> None:
    """Called once with the final result (never None), after the best model is saved."""
