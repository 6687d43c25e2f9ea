"""The ``inc`` command: tune, history, report, apply, plugins, strategies."""

from inc_core.cli.main import main

__all__ = ["main"]
