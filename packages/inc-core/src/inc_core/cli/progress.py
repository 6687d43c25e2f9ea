"""`TuningProgress`: a live progress line on stderr, as a plugin on the lifecycle hooks.

Shows trial n of ``max_trials``, the strategy's current stage, the best score so
far against the target, the elapsed time and an estimate of the time left. The
``inc`` command registers it on the run's plugin manager when stderr is a
terminal and ``NO_COLOR`` is unset (see `progress_wanted`), and unregisters it
afterwards; any program can do the same::

    progress = TuningProgress()
    pm.register(progress)
    try:
        autotune(..., plugin_manager=pm)
    finally:
        pm.unregister(progress)
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from inc_core.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from inc_core.history.result import TuningResult
    from inc_core.history.trial import Trial
    from inc_core.plugins.view import RunView


def progress_wanted(console: Console | None = None, environ: dict[str, str] | None = None) -> bool:
    """True when a live display makes sense: stderr is a terminal, ``NO_COLOR`` and ``TERM=dumb`` unset."""
    env = os.environ if environ is None else environ
    if "NO_COLOR" in env or env.get("TERM") == "dumb":
        return False
    return (console or Console(stderr=True)).is_terminal


def _clock(seconds: float) -> str:
    hours, rest = divmod(max(0, round(seconds)), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


class TuningProgress:
    """Renders the run's progress with rich; every method is a lifecycle hook implementation."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._started = 0.0
        self._done_at_start = 0
        self.last_line = ""
        """The text of the last update (what the display shows next to the bar)."""

    def describe(self, run: RunView, trial: Trial | None) -> str:
        """One status line: stage, best so far vs target, and the time estimate."""
        stage = (trial.stage if trial is not None else "") or "-"
        best = run.best_trial
        if best is not None and best.score is not None:
            mark = "[green]passes[/green]" if best.passed else "[red]fails[/red]"
            best_text = f"best {best.score:.4g} ({mark}), target {run.target_score:.4g}"
        else:
            best_text = f"best -, target {run.target_score:.4g}"
        return f"[bold]{stage}[/bold]  {best_text}  {self._estimate(run)}"

    def _estimate(self, run: RunView) -> str:
        """Time left: trials left times the mean trial time so far, capped by the timeout."""
        elapsed = time.monotonic() - self._started
        done = run.trials_used() - self._done_at_start
        left: float | None = None
        if done > 0:
            left = (run.max_trials - run.trials_used()) * elapsed / done
        if run.timeout > 0:
            to_timeout = max(0.0, run.timeout - run.elapsed())
            left = to_timeout if left is None else min(left, to_timeout)
        return f"ETA <= {_clock(left)}" if left is not None else "ETA -"

    @hookimpl
    def inc_tuning_start(self, run: RunView) -> None:
        self._started = time.monotonic()
        self._done_at_start = run.trials_used()
        self._progress = Progress(
            TextColumn("trial"),
            MofNCompleteColumn(),
            BarColumn(bar_width=24),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=self.console,
            transient=False,
        )
        self.last_line = self.describe(run, None)
        self._task = self._progress.add_task(self.last_line, total=run.max_trials, completed=self._done_at_start)
        self._progress.start()

    @hookimpl
    def inc_trial_end(self, run: RunView, trial: Trial) -> None:
        if self._progress is None or self._task is None:
            return
        self.last_line = self.describe(run, trial)
        self._progress.update(self._task, completed=run.trials_used(), description=self.last_line)

    @hookimpl
    def inc_tuning_end(self, run: RunView, result: TuningResult) -> None:
        self.close()

    def close(self) -> None:
        """Stop the live display (also safe when tuning failed before it started)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
