"""Durable trial history: an append-only SQLite file in the run directory.

Each trial is written when it starts (state ``running``) and updated when it ends,
each write committed before the run goes on, so a killed process loses nothing
finished. The write-ahead log is checkpointed into ``history.sqlite`` after every
finished trial (and every metadata write), so that file alone holds every finished
trial: a copy without ``history.sqlite-wal``, or a lost or damaged WAL, loses only
trials still running. Configs are stored as JSON deltas from the space's default
config (a 10,000-op config costs bytes, not megabytes). No pickle anywhere.

An existing history is read strictly: a missing table, damaged pages, a row with
bad JSON or an unknown state raise `HistoryError` naming the file and the problem,
so a resume never starts over silently.
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
from inc_core.history.trial import Trial, TrialState
from inc_core.space.tune_config import OpOption, TuneConfig

FORMAT_VERSION = 1
HISTORY_FILE = "history.sqlite"
INTERRUPTED = "interrupted: the process running this trial died before it finished"
CANCELLED = "cancelled: the run stopped before this trial finished"
RETRYABLE = (INTERRUPTED, CANCELLED)
"""Errors that say a trial never really ran: a resumed run evaluates those configs again."""

TABLES = ("meta", "trials", "sensitivity")
ADDED_COLUMNS = ("speedup", "speedup_error")  # trials columns newer than format 1: added on open
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE trials (
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
    speedup REAL,
    speedup_error REAL
);
CREATE TABLE sensitivity (
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

    def __init__(self, path: str | Path, create: bool = True) -> None:
        """Open (``create``: or start) the history at ``path``; `HistoryError` if it cannot be read completely."""
        self.path = Path(path)
        existed = self.path.is_file() and self.path.stat().st_size > 0
        if not existed and not create:
            raise HistoryError(f"{self.path}: no tuning history here")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.path}: cannot open the history ({exc})") from exc
        try:
            self._open(existed)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise HistoryError(f"{self.path}: not a readable inc history ({exc})") from exc
        except HistoryError:
            self._db.close()
            raise
        self._default: TuneConfig | None = None
        stored_default = self.get_meta("default_config")
        if stored_default is not None:
            try:
                self._default = TuneConfig.from_dict(stored_default)
            except Exception as exc:
                raise HistoryError(f"{self.path}: the stored default config is unreadable ({exc})") from exc

    def _open(self, existed: bool) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        present = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if existed:
            problems = [row[0] for row in self._db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise HistoryError(f"{self.path}: the database is damaged ({'; '.join(problems[:3])})")
        if not present:
            if existed:
                raise HistoryError(f"{self.path}: holds no inc history (no tables)")
            self._db.executescript(_SCHEMA)
        else:
            missing = [t for t in TABLES if t not in present]
            if missing:
                raise HistoryError(f"{self.path}: table {missing[0]!r} is missing; the history is incomplete")
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(trials)")}
            for column in ADDED_COLUMNS:  # histories written before these were recorded
                if column not in columns:
                    self._db.execute(f"ALTER TABLE trials ADD COLUMN {column} REAL")
        version = self.get_meta("format_version")
        if version is None:
            if existed:
                raise HistoryError(f"{self.path}: no format_version entry; not an inc history")
            self.set_meta("format_version", FORMAT_VERSION)
        elif version != FORMAT_VERSION:
            raise HistoryError(f"{self.path}: history format {version}, this inc reads {FORMAT_VERSION}")

    @classmethod
    def in_run_dir(cls, run_dir: str | Path, create: bool = True) -> TrialHistory:
        return cls(Path(run_dir) / HISTORY_FILE, create=create)

    def _write(self, sql: str, params: Sequence[Any], durable: bool = True) -> sqlite3.Cursor:
        """Run one write (its own transaction); ``durable``: checkpoint the WAL into the main file too."""
        with self._lock:
            try:
                cursor = self._db.execute(sql, params)
                if durable:
                    # TRUNCATE copies every committed frame into history.sqlite and empties the WAL, so
                    # the main file alone holds this write (a reader in the way: done at the next write).
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.DatabaseError as exc:
                raise HistoryError(f"{self.path}: writing the history failed ({exc})") from exc
        return cursor

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise HistoryError(f"{self.path}: reading the history failed ({exc})") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> TrialHistory:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # Metadata ----------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        if not rows:
            return default
        try:
            return json.loads(rows[0][0])
        except (TypeError, ValueError) as exc:
            raise HistoryError(f"{self.path}: meta entry {key!r} is not valid JSON ({exc})") from None

    def set_default_config(self, config: TuneConfig) -> None:
        """Store the space's default config once; trial configs are stored as deltas from it."""
        if self._default is None:
            self.set_meta("default_config", config.to_dict())
            self._default = config

    # Trials ------------------------------------------------------------------
    def next_number(self) -> int:
        return int(self._read("SELECT COALESCE(MAX(number), 0) FROM trials")[0][0]) + 1

    def record_start(self, trial: Trial) -> None:
        """Record a started trial (not checkpointed: a trial still running is re-run on resume anyway)."""
        self._write(
            "INSERT INTO trials (number, seq, stage, state, config, started_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                trial.number,
                trial.seq,
                trial.stage,
                TrialState.RUNNING.value,
                encode_config(trial.config, self._default),
                trial.started_at or time.time(),
            ),
            durable=False,
        )

    def record_end(self, trial: Trial) -> None:
        """Record a trial's result, durable in ``history.sqlite`` itself before this returns."""
        self._write(
            "UPDATE trials SET state=?, metrics=?, score=?, passed=?, latency=?, model_size=?, error=?, "
            "ended_at=?, speedup=?, speedup_error=? WHERE number=?",
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
                trial.speedup_error,
                trial.number,
            ),
        )

    def mark_interrupted(self) -> int:
        """Mark trials left ``running`` by a dead process as failed; return how many."""
        cursor = self._write(
            "UPDATE trials SET state=?, error=?, ended_at=? WHERE state=?",
            (TrialState.FAILED.value, INTERRUPTED, time.time(), TrialState.RUNNING.value),
        )
        return cursor.rowcount

    def trials(self) -> list[Trial]:
        """Every recorded trial, in start order; `HistoryError` naming the first unreadable row."""
        rows = self._read(
            "SELECT number, seq, stage, state, config, metrics, score, passed, latency, model_size, error, "
            "started_at, ended_at, speedup, speedup_error FROM trials ORDER BY number"
        )
        return [self._row_to_trial(row) for row in rows]

    def _row_to_trial(self, row: Sequence[Any]) -> Trial:
        number, seq, stage, state, config, metrics, score, passed, latency, size, error, started, ended, *paired = row
        where = f"{self.path}: trial {number}"
        try:
            trial_state = TrialState(state)
        except ValueError:
            valid = ", ".join(s.value for s in TrialState)
            raise HistoryError(f"{where}: unknown state {state!r} (valid: {valid})") from None
        try:
            decoded = decode_config(config, self._default)
        except HistoryError as exc:
            raise HistoryError(f"{where}: {exc}") from None
        except Exception as exc:  # bad JSON, unknown option fields, ...
            raise HistoryError(f"{where}: the config column is unreadable ({type(exc).__name__}: {exc})") from None
        try:
            values = json.loads(metrics) if metrics else {}
            if not isinstance(values, dict):
                raise ValueError(f"expected a JSON object, got {type(values).__name__}")
        except (TypeError, ValueError) as exc:
            raise HistoryError(f"{where}: the metrics column is not a JSON object of numbers ({exc})") from None
        return Trial(
            number=number,
            config=decoded,
            seq=seq,
            stage=stage,
            state=trial_state,
            metrics=values,
            score=score,
            passed=bool(passed),
            latency=latency,
            model_size=size,
            speedup=paired[0],
            speedup_error=paired[1],
            error=error,
            started_at=started,
            ended_at=ended or 0.0,
        )

    def finished_trials(self) -> list[Trial]:
        """Trials whose result is final (complete, or failed for a reason other than interruption)."""
        return [t for t in self.trials() if t.state is not TrialState.RUNNING and t.error not in RETRYABLE]

    # Sensitivity cache ----------------------------------------------------------
    def get_sensitivity(self, method: str, config: TuneConfig) -> Mapping[str, float] | None:
        rows = self._read(
            "SELECT scores FROM sensitivity WHERE method=? AND config=?",
            (method, encode_config(config, self._default)),
        )
        if not rows:
            return None
        try:
            scores = json.loads(rows[0][0])
        except (TypeError, ValueError) as exc:
            raise HistoryError(f"{self.path}: cached {method} sensitivity is not valid JSON ({exc})") from None
        return dict(scores)

    def put_sensitivity(self, method: str, config: TuneConfig, scores: Mapping[str, float]) -> None:
        self._write(
            "INSERT OR REPLACE INTO sensitivity VALUES (?, ?, ?)",
            (method, encode_config(config, self._default), json.dumps(dict(scores))),
        )
