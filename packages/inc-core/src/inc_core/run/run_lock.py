"""One writer per run directory: an OS-level lock on ``RUN_DIR/.inc.lock``, held for the whole run.

The lock is an advisory ``flock`` (POSIX) or ``msvcrt.locking`` (Windows) on an open
file: the kernel drops it when the holder exits, however it exits, so a lock left by a
SIGKILLed run never blocks a resume. The file records the holder's PID and host so a
second ``inc tune``/``--resume``/``autotune`` on the same directory is refused at once
with a message saying who holds it. The file itself stays (deleting it would race with
a process about to lock it); only the lock matters.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import IO, Any

from inc_core.errors import RunDirLockedError

LOCK_FILE = ".inc.lock"
_WINDOWS_LOCK_OFFSET = 1 << 20  # lock a byte past the holder's record so other processes can still read it


def _try_lock(handle: IO[str]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(_WINDOWS_LOCK_OFFSET)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(handle: IO[str]) -> None:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(_WINDOWS_LOCK_OFFSET)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def holder(path: Path) -> dict[str, Any]:
    """What the lock file says about its holder (empty if unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class RunDirLock:
    """The lock of one run directory; `acquire` raises `RunDirLockedError` if another process holds it."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._handle: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self) -> None:
        """Take the lock (creating the run directory), or refuse naming the holder's PID."""
        if self._handle is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)  # no O_TRUNC: the holder's record stays readable
        handle = os.fdopen(fd, "r+", encoding="utf-8")
        if not _try_lock(handle):
            handle.close()
            info = holder(self.path)
            who = f"process {info.get('pid', '?')}" + (f" on {info['host']}" if info.get("host") else "")
            since = f" since {info['started']}" if info.get("started") else ""
            raise RunDirLockedError(
                f"run directory {self.path.parent} is in use by {who}{since} (lock {self.path}); "
                "wait for that run to end, stop it, or choose another run_dir"
            )
        record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(record))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        try:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            _unlock(handle)
        finally:
            handle.close()

    def __enter__(self) -> RunDirLock:
        self.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
