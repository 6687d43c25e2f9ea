"""All hook specifications of the ``inc`` pluggy project, in one place.

Registration hooks receive a ``register`` callable (so core validates names,
rejects duplicates and records which distribution registered what). Lifecycle
hooks are notifications: progress display, logging and history writing are
ordinary plugins on them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from inc_core.history.result import TuningResult
    from inc_core.history.trial import Trial
    from inc_core.plugins.view import RunView

PROJECT = "inc"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(historic=True)
def inc_register_strategies(register: Callable[[str, type], None]) -> None:
    """Called once per plugin, also for plugins registered later: ``register(name, cls)`` per strategy.

    ``cls`` must subclass `inc_core.TuneStrategy`. Do not import heavy libraries here.
    """


@hookspec(historic=True)
def inc_register_adaptors(register: Callable[[str, type], None]) -> None:
    """Called once per plugin, also for plugins registered later: ``register(name, cls)`` per adaptor.

    ``cls`` must subclass `inc_core.Adaptor`; its module must not import the framework
    at import time (torch, onnxruntime, ...), only when a model is handled.
    """


@hookspec(historic=True)
def inc_register_executors(register: Callable[[str, type], None]) -> None:
    """Called once per plugin: ``register(name, kind)`` per executor kind.

    ``kind`` subclasses `inc_core.execute.kinds.ExecutorKind`: its ``forms`` (how users write
    it, e.g. ``"ray"``, ``"ray://HOST:PORT"``), ``matches(spec)``, ``check(...)`` (before the
    baseline) and ``make(...)`` (a `inc_core.execute.backends.TrialBackend`). Engines are
    imported in ``check``/``make``, never here.
    """


@hookspec
def inc_register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Called when ``inc`` builds its parser: add sub-commands to ``subparsers``.

    Give each parser ``set_defaults(func=handler)``; ``handler(args)`` returns the exit code.
    Import what the command needs inside the handler, so ``inc --help`` stays fast.
    """


@hookspec
def inc_tuning_start(run: RunView) -> None:
    """Called after the baseline is measured and before the first trial starts."""


@hookspec
def inc_trial_start(run: RunView, trial: Trial) -> None:
    """Called when a trial is handed to the executor (``trial.state`` is running)."""


@hookspec
def inc_trial_end(run: RunView, trial: Trial) -> None:
    """Called when a trial finished (complete or failed), after it is durably recorded."""


@hookspec
def inc_tuning_end(run: RunView, result: TuningResult) -> None:
    """Called once with the final result (never None), after the best model is saved."""
