"""Durable trial history: an append-only SQLite file in the run directory.

Each trial is written when it starts (state ``running``) and updated when it ends,
each write committed before the run goes on, so a killed process loses nothing
finished. Configs are stored as JSON deltas from the space's default config (a
10,000-op config costs bytes, not megabytes). No pickle anywhere.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from inc_core.errors import HistoryError
from inc_core.trial import Trial, TrialState
from inc_core.tune_config import OpOption, TuneConfig

FORMAT_VERSION = 1
HISTORY_FILE = "history.sqlite"
INTERRUPTED = "interrupted: the process running this trial died before it finished"
CANCELLED = "cancelled: the run stopped before this trial finished"
RETRYABLE = (INTERRUPTED, CANCELLED)
"""Errors that say a trial never really ran: a resumed run evaluates those configs again."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    number INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    stage TEXT NOT NULL,
    state TEXT NOT NULL,
    config TEXT NOT NULL,
    metrics TEXT,
    score REAL,
    passed INTEGER NOT NULL DEFAULT 0,
    latency REAL,
    model_size INTEGER,
    error TEXT,
    started_at REAL NOT NULL,
    ended_at REAL,
    speedup REAL
);
CREATE TABLE IF NOT EXISTS sensitivity (
    method TEXT NOT NULL,
    config TEXT NOT NULL,
    scores TEXT NOT NULL,
    PRIMARY KEY (method, config)
);
"""


def encode_config(config: TuneConfig, default: TuneConfig | None) -> str:
    """JSON of ``config`` as ops that differ from ``default`` plus all recipes."""
    if default is None:
        return config.to_json()
    base = default.ops
    changed = {
        name: option._json_fields  # computed once per option; json.dumps only reads it
        for name, option in config.ops.items()
        if base.get(name) is not option and base.get(name) != option
    }
    recipes = {k: list(v) if isinstance(v, tuple) else v for k, v in config.recipes.items()}
    return json.dumps({"delta": changed, "recipes": recipes}, sort_keys=True, separators=(",", ":"))


def decode_config(text: str, default: TuneConfig | None) -> TuneConfig:
    data = json.loads(text)
    if "delta" not in data:
        return TuneConfig.from_dict(data)
    if default is None:
        raise HistoryError("history stores config deltas but has no default config")
    ops = {name: OpOption.from_dict(opt) for name, opt in data["delta"].items()}
    return TuneConfig({**default.ops, **ops}, data.get("recipes") or {})


class TrialHistory:
    """The history of one run directory (``RUN_DIR/history.sqlite``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(trials)")}
            if "speedup" not in columns:  # histories written before paired speed-ups were recorded
                self._db.execute("ALTER TABLE trials ADD COLUMN speedup REAL")
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"{self.path}: not a usable inc history database ({exc})") from exc
        version = self.get_meta("format_version")
        if version is None:
            self.set_meta("format_version", FORMAT_VERSION)
        elif version != FORMAT_VERSION:
            raise HistoryError(f"{self.path}: history format {version}, this inc reads {FORMAT_VERSION}")
        self._default: TuneConfig | None = None
        stored_default = self.get_meta("default_config")
        if stored_default is not None:
            self._default = TuneConfig.from_dict(stored_default)

    @classmethod
    def in_run_dir(cls, run_dir: str | Path) -> TrialHistory:
        return cls(Path(run_dir) / HISTORY_FILE)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> TrialHistory:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # Metadata ----------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_default_config(self, config: TuneConfig) -> None:
        """Store the space's default config once; trial configs are stored as deltas from it."""
        if self._default is None:
            self.set_meta("default_config", config.to_dict())
            self._default = config

    # Trials ------------------------------------------------------------------
    def next_number(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT COALESCE(MAX(number), 0) FROM trials").fetchone()
        return int(row[0]) + 1

    def record_start(self, trial: Trial) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO trials (number, seq, stage, state, config, started_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    trial.number,
                    trial.seq,
                    trial.stage,
                    TrialState.RUNNING.value,
                    encode_config(trial.config, self._default),
                    trial.started_at or time.time(),
                ),
            )

    def record_end(self, trial: Trial) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE trials SET state=?, metrics=?, score=?, passed=?, latency=?, model_size=?, error=?, "
                "ended_at=?, speedup=? WHERE number=?",
                (
                    trial.state.value,
                    json.dumps(dict(trial.metrics)),
                    trial.score,
                    int(trial.passed),
                    trial.latency,
                    trial.model_size,
                    trial.error,
                    trial.ended_at or time.time(),
                    trial.speedup,
                    trial.number,
                ),
            )

    def mark_interrupted(self) -> int:
        """Mark trials left ``running`` by a dead process as failed; return how many."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE trials SET state=?, error=?, ended_at=? WHERE state=?",
                (TrialState.FAILED.value, INTERRUPTED, time.time(), TrialState.RUNNING.value),
            )
        return cursor.rowcount

    def trials(self) -> list[Trial]:
        """Every recorded trial, in start order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT number, seq, stage, state, config, metrics, score, passed, latency, model_size, error, "
                "started_at, ended_at, speedup FROM trials ORDER BY number"
            ).fetchall()
        return [self._row_to_trial(row) for row in rows]

    def _row_to_trial(self, row: Sequence[Any]) -> Trial:
        number, seq, stage, state, config, metrics, score, passed, latency, size, error, started, ended, speedup = row
        return Trial(
            number=number,
            config=decode_config(config, self._default),
            seq=seq,
            stage=stage,
            state=TrialState(state),
            metrics=json.loads(metrics) if metrics else {},
            score=score,
            passed=bool(passed),
            latency=latency,
            model_size=size,
            speedup=speedup,
            error=error,
            started_at=started,
            ended_at=ended or 0.0,
        )

    def finished_trials(self) -> list[Trial]:
        """Trials whose result is final (complete, or failed for a reason other than interruption)."""
        return [t for t in self.trials() if t.state is not TrialState.RUNNING and t.error not in RETRYABLE]

    # Sensitivity cache ----------------------------------------------------------
    def get_sensitivity(self, method: str, config: TuneConfig) -> Mapping[str, float] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT scores FROM sensitivity WHERE method=? AND config=?",
                (method, encode_config(config, self._default)),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put_sensitivity(self, method: str, config: TuneConfig, scores: Mapping[str, float]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO sensitivity VALUES (?, ?, ?)",
                (method, encode_config(config, self._default), json.dumps(dict(scores))),
            )
