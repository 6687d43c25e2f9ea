"""The run directory: what a run writes where, and when a directory may be used.

One owner for the file names and the policy (the API and ``inc tune`` both ask here):
a new run needs a directory without a history (``strict``: without anything but a log
or lock, for ``inc tune``, which writes ``run.yaml`` first); a resumed one needs its
history; ``--overwrite`` replaces only a directory inc wrote.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from inc_core.errors import ConfigError
from inc_core.history.store import HISTORY_FILE
from inc_core.run.run_lock import LOCK_FILE

LOG_FILE = "tuning.log"
RUN_FILE = "run.yaml"
BEST_CONFIG_FILE = "best_config.yaml"
BEST_MODEL_STEM = "best_model"  # the adaptor adds its suffix (.onnx, .pt2)
HISTORY_FILES = (HISTORY_FILE, f"{HISTORY_FILE}-wal", f"{HISTORY_FILE}-shm", f"{HISTORY_FILE}-journal")

__all__ = [
    "BEST_CONFIG_FILE",
    "BEST_MODEL_STEM",
    "HISTORY_FILE",
    "LOCK_FILE",
    "LOG_FILE",
    "RUN_FILE",
    "check_overwrite",
    "check_run_dir",
    "clear_run_dir",
    "close_log",
    "default_run_dir",
    "forget_run",
    "open_log",
]


def default_run_dir(strategy: str) -> Path:
    """``inc_runs/<strategy>-<time>-<micro>``: a fresh directory per run started without one."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("inc_runs") / f"{strategy}-{stamp}-{time.time_ns() % 10**6:06d}"


def check_run_dir(run_dir: Path, resume: bool, *, strict: bool = False, resume_flag: str = "resume=True") -> None:
    """Refuse to start over an existing run, or to resume one that has no history (`ConfigError`)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"run_dir: {run_dir} exists and is not a directory")
    history = run_dir / HISTORY_FILE
    if resume:
        if not history.is_file():
            flag = resume_flag.partition("=")[0]
            raise ConfigError(f"{flag}: no tuning history to resume in {run_dir} (expected {history})")
        return
    taken = history.exists() or (
        strict and run_dir.is_dir() and any(p.name not in (LOG_FILE, LOCK_FILE) for p in run_dir.iterdir())
    )
    if taken:
        held = " (it already holds a tuning history)" if history.exists() and not strict else ""
        other = "choose another run_dir (or --run-dir)" if strict else "choose another run_dir"
        raise ConfigError(
            f"run directory {run_dir} already exists{held}; pass {resume_flag} to continue it, or {other}"
        )


def forget_run(run_dir: Path) -> None:
    """Remove what a run that never got past its baseline wrote, except the log."""
    for name in (RUN_FILE, *HISTORY_FILES, LOCK_FILE):  # the lock is released by now
        (run_dir / name).unlink(missing_ok=True)


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


def open_log(run_dir: Path) -> logging.Handler:
    """Send the ``inc`` logger to ``RUN_DIR/tuning.log`` (INFO unless the caller set a level); close to detach."""
    handler = logging.FileHandler(run_dir / LOG_FILE, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    inc = logging.getLogger("inc")
    inc.addHandler(handler)
    if inc.level == logging.NOTSET:
        inc.setLevel(logging.INFO)
    return handler


def close_log(handler: logging.Handler) -> None:
    logging.getLogger("inc").removeHandler(handler)
    handler.close()
