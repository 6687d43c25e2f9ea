"""``inc tune --overwrite``: replace a finished run directory, and only one that inc wrote."""

from __future__ import annotations

import shutil
from pathlib import Path

from inc_core.errors import ConfigError
from inc_core.history.store import HISTORY_FILE


def check_overwrite(run_dir: Path) -> None:
    """Raise `ConfigError` unless ``run_dir`` is absent, empty or an inc run directory (it holds a history)."""
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise ConfigError(f"--overwrite: {run_dir} exists and is not a directory")
    if any(run_dir.iterdir()) and not (run_dir / HISTORY_FILE).is_file():
        raise ConfigError(
            f"--overwrite: {run_dir} is not an inc run directory (no {HISTORY_FILE}); "
            "it is left alone: remove it yourself or choose another --run-dir"
        )


def clear_run_dir(run_dir: Path) -> None:
    """Delete a run directory `check_overwrite` accepted (called once the new run is validated)."""
    if run_dir.is_dir():
        shutil.rmtree(run_dir)
