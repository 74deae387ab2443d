"""The run store: runs, their configs, per-epoch histories and metrics in an embedded SQLite
database, with weights and arrays beside it in safetensors files.

Layout of a store folder:

    runs.sqlite              the database (WAL journal, one transaction per write)
    artifacts/<run id>/      model.safetensors + predictor.json (a `Predictor.save` folder) and
                             arrays.safetensors (e.g. the scores and embeddings of a space scan)
    locks/<run id>.lock      held (flock) by the process that writes the run

Crash safety: every database write is one transaction, so a reader sees a run either before or
after a write, never half of it. Artifacts are written into a temporary folder that is renamed into
place before the transaction that marks the run finished; a run's files are read back only when
its row says they are complete. A process that dies (even by kill -9) releases its run locks; the
next `RunStore` to open the folder marks such runs "interrupted" and removes half-written files.

Statuses: "running", then "completed", "cancelled", "diverged", "failed" or "interrupted".
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import socket
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save_file as save_numpy

if TYPE_CHECKING:
    from hypernas_core.predictor import Predictor

try:  # NOTE: flock is POSIX-only; elsewhere a run's owner is judged by its pid alone
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

logger = logging.getLogger(__name__)

STORE_ENV = "HYPERNAS_STORE"  # folder of the run store; overrides the default
DB_FILE = "runs.sqlite"
ARRAYS_FILE = "arrays.safetensors"
FINAL_STATUSES = ("completed", "cancelled", "diverged", "failed", "interrupted")
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,            -- who made it: app, cli, sweep, ...
    title TEXT NOT NULL,           -- a one-line human-readable name
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    spec TEXT NOT NULL,            -- JSON: what the user asked for
    config TEXT NOT NULL,          -- JSON: the PredictorConfig
    metrics TEXT NOT NULL DEFAULT '{}',  -- JSON: final metrics (ranking report, timings)
    has_artifacts INTEGER NOT NULL DEFAULT 0,
    owner_host TEXT NOT NULL,
    owner_pid INTEGER NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    metrics TEXT NOT NULL,         -- JSON: the per-epoch record of the training history
    PRIMARY KEY (run_id, epoch)
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
"""


def default_store_dir() -> Path:
    """The store folder: $HYPERNAS_STORE, else `hypernas` in the user's data directory
    (~/.local/share or $XDG_DATA_HOME on Linux, ~/Library/Application Support on macOS,
    %LOCALAPPDATA% on Windows)."""
    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV]).expanduser()
    if sys.platform == "win32":  # pragma: no cover - platform specific
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":  # pragma: no cover - platform specific
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "hypernas"


@dataclass(frozen=True)
class StoredRun:
    """One run as the store holds it.

    Attributes:
        id: the store's run id. kind: who made it (app, cli, sweep). title: a one-line name.
        status: see the module docstring. message: how it ended, in words.
        spec: what was asked for. config: the PredictorConfig as a dict. metrics: final metrics.
        epochs: the per-epoch history records, in order.
        has_artifacts: True when weights and arrays were written completely.
        created_at, finished_at: Unix times (finished_at None while running).
    """

    id: int
    kind: str
    title: str
    status: str
    message: str
    spec: dict[str, Any]
    config: dict[str, Any]
    metrics: dict[str, Any]
    epochs: list[dict[str, float]]
    has_artifacts: bool
    created_at: float
    finished_at: float | None


class RunStore:
    """A folder holding the runs database and the runs' weights.

    Safe to share between threads and processes on one machine: every call opens its own SQLite
    connection, writes are single transactions and SQLite serialises writers (WAL mode, a busy
    timeout of `timeout` seconds).

    Args:
        root: the store folder (created if missing); None uses `default_store_dir()`.
        timeout: seconds a write waits for another writer before failing.

    Raises:
        ValueError: when `root` exists and is not a folder, or its database is not a run store.
    """

    def __init__(self, root: str | Path | None = None, timeout: float = 30.0) -> None:
        self.root = Path(root).expanduser() if root is not None else default_store_dir()
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(f"run store path {str(self.root)!r} exists and is not a folder")
        self.timeout = timeout
        (self.root / "artifacts").mkdir(parents=True, exist_ok=True)
        (self.root / "locks").mkdir(exist_ok=True)
        self.db_path = self.root / DB_FILE
        self._locks: dict[int, Any] = {}  # run id -> open lock file held by this object
        self._locks_guard = threading.Lock()
        try:
            db = sqlite3.connect(self.db_path, timeout=self.timeout, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode = WAL")  # persistent: set once per database
                db.executescript(
                    f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                )
            finally:
                db.close()
        except sqlite3.DatabaseError as err:
            raise ValueError(f"{self.db_path} is not a HyperNAS run store database: {err}") from err
        self.recover()

    def __repr__(self) -> str:
        return f"RunStore(root={str(self.root)!r})"

    @contextlib.contextmanager
    def _connect(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A connection whose `with` block is one transaction (committed, or rolled back).

        Writes take SQLite's write lock up front (no lock-upgrade deadlocks); reads see one
        consistent snapshot and, in WAL mode, never wait for a writer.
        """
        db = sqlite3.connect(self.db_path, timeout=self.timeout, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous = FULL")  # a committed run survives a power cut too
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    # writing a run

    def create_run(
        self, kind: str, title: str, spec: dict[str, Any], config: dict[str, Any]
    ) -> int:
        """Adds a run with status "running", owned (locked) by this process; returns its id."""
        now = time.time()
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO runs (kind, title, status, spec, config, owner_host, owner_pid,"
                " created_at, updated_at) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    title,
                    _dumps(spec),
                    _dumps(config),
                    socket.gethostname(),
                    os.getpid(),
                    now,
                    now,
                ),
            )
            run_id = int(cursor.lastrowid)
            # lock before the commit, so no other process can see the run unowned
            self._acquire(run_id)
        logger.info("run store %s: run %d (%s) started", self.root, run_id, title)
        return run_id

    def append_epoch(self, run_id: int, metrics: dict[str, float]) -> None:
        """Records one epoch of a running run (its `epoch` field is the key).

        Raises:
            ValueError: when the run is unknown or no longer running.
        """
        epoch = int(metrics["epoch"])
        with self._connect() as db:
            self._require_running(db, run_id)
            db.execute(
                "INSERT OR REPLACE INTO epochs (run_id, epoch, metrics) VALUES (?, ?, ?)",
                (run_id, epoch, _dumps(metrics)),
            )
            db.execute("UPDATE runs SET updated_at = ? WHERE id = ?", (time.time(), run_id))

    def finish_run(
        self,
        run_id: int,
        status: str,
        message: str = "",
        metrics: dict[str, Any] | None = None,
        predictor: Predictor | None = None,
        arrays: dict[str, np.ndarray] | None = None,
    ) -> None:
        """Marks a running run finished, with its final metrics and, optionally, its weights
        (`predictor`) and arrays (e.g. {"scores": (A,), "embeddings": (A, D)}).

        Files are written into a temporary folder and renamed into place before the transaction
        that marks the run finished, so a crash at any point leaves either no files or complete
        ones that the row does not yet point to (removed by `recover`).

        Raises:
            ValueError: for an unknown status, or a run that is unknown or not running.
        """
        if status not in FINAL_STATUSES:
            raise ValueError(f"status must be one of {', '.join(FINAL_STATUSES)} (got {status!r})")
        has_artifacts = predictor is not None or bool(arrays)
        if has_artifacts:
            self._write_artifacts(run_id, predictor, arrays or {})
        with self._connect() as db:
            self._require_running(db, run_id)
            now = time.time()
            db.execute(
                "UPDATE runs SET status = ?, message = ?, metrics = ?, has_artifacts = ?,"
                " updated_at = ?, finished_at = ? WHERE id = ?",
                (status, message, _dumps(metrics or {}), int(has_artifacts), now, now, run_id),
            )
        self._release(run_id)
        logger.info("run store %s: run %d %s", self.root, run_id, status)

    def _write_artifacts(
        self, run_id: int, predictor: Predictor | None, arrays: dict[str, np.ndarray]
    ) -> None:
        final = self.artifact_dir(run_id)
        tmp = self.root / "artifacts" / f".{run_id}.tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        if predictor is not None:
            predictor.save(tmp)
        if arrays:
            save_numpy({k: np.ascontiguousarray(v) for k, v in arrays.items()}, tmp / ARRAYS_FILE)
        if final.exists():  # left by an earlier crash of this run id: never trusted
            shutil.rmtree(final)
        tmp.rename(final)

    def _require_running(self, db: sqlite3.Connection, run_id: int) -> None:
        row = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise ValueError(f"run store {self.root} has no run {run_id!r}")
        if row[0] != "running":
            raise ValueError(f"run {run_id} is {row[0]!r}, not running; it cannot be written")

    # ownership: a run's lock is held by the process that writes it

    def _lock_path(self, run_id: int) -> Path:
        return self.root / "locks" / f"{run_id}.lock"

    def _acquire(self, run_id: int) -> None:
        handle = self._lock_path(run_id).open("a+")
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with self._locks_guard:
            self._locks[run_id] = handle

    def _release(self, run_id: int) -> None:
        with self._locks_guard:
            handle = self._locks.pop(run_id, None)
        if handle is not None:
            handle.close()  # closing releases the flock
        self._lock_path(run_id).unlink(missing_ok=True)

    def _is_orphan(self, run_id: int, host: str, pid: int) -> bool:
        """True when no live process owns the running run `run_id`."""
        with self._locks_guard:
            if run_id in self._locks:
                return False
        if fcntl is not None:
            path = self._lock_path(run_id)
            if not path.exists():
                return True
            with path.open("a+") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False  # its owner (in any process) still holds the lock
                fcntl.flock(handle, fcntl.LOCK_UN)
                return True
        # NOTE: without flock, a reused pid on the same host keeps a dead run "running"
        return host == socket.gethostname() and not _pid_alive(pid)

    def recover(self) -> list[int]:
        """Marks running runs whose owner died as "interrupted", drops their unfinished files,
        and removes temporary artifact folders of crashed writes. Returns the recovered run ids.
        """
        with self._connect() as db:
            running = db.execute(
                "SELECT id, owner_host, owner_pid FROM runs WHERE status = 'running'"
            ).fetchall()
            orphans = [rid for rid, host, pid in running if self._is_orphan(rid, host, pid)]
            now = time.time()
            for rid in orphans:
                epochs = db.execute(
                    "SELECT COUNT(*) FROM epochs WHERE run_id = ?", (rid,)
                ).fetchone()[0]
                db.execute(
                    "UPDATE runs SET status = 'interrupted', message = ?, has_artifacts = 0,"
                    " updated_at = ?, finished_at = ? WHERE id = ?",
                    (
                        f"the process writing it stopped after {epochs} recorded epoch(s)",
                        now,
                        now,
                        rid,
                    ),
                )
        for rid in orphans:
            shutil.rmtree(self.artifact_dir(rid), ignore_errors=True)
            self._lock_path(rid).unlink(missing_ok=True)
            logger.warning("run store %s: run %d was interrupted", self.root, rid)
        # a temporary folder of a run that no live process is finishing is a crashed write
        live = {rid for rid, _, _ in running} - set(orphans)
        for tmp in (self.root / "artifacts").glob(".*.tmp-*"):
            if int(tmp.name[1:].split(".", 1)[0]) not in live:
                shutil.rmtree(tmp, ignore_errors=True)
        return orphans

    # reading

    def artifact_dir(self, run_id: int) -> Path:
        return self.root / "artifacts" / str(int(run_id))

    def runs(self, kind: str | None = None) -> pd.DataFrame:
        """One row per run (newest first): id, kind, title, status, message, epochs, created_at,
        finished_at, has_artifacts and the final metrics as columns."""
        query = (
            "SELECT r.id, r.kind, r.title, r.status, r.message, r.metrics, r.has_artifacts,"
            " r.created_at, r.finished_at, (SELECT COUNT(*) FROM epochs e WHERE e.run_id = r.id)"
            " FROM runs r" + (" WHERE r.kind = ?" if kind else "") + " ORDER BY r.id DESC"
        )
        with self._connect(write=False) as db:
            rows = db.execute(query, (kind,) if kind else ()).fetchall()
        records = []
        for rid, knd, title, status, message, metrics, has, created, finished, n in rows:
            record = {
                "id": rid,
                "kind": knd,
                "title": title,
                "status": status,
                "message": message,
                "epochs": n,
                "has_artifacts": bool(has),
                "created_at": pd.to_datetime(created, unit="s"),
                "finished_at": pd.to_datetime(finished, unit="s") if finished else pd.NaT,
            }
            record.update(_flat_numbers(json.loads(metrics)))
            records.append(record)
        columns = ["id", "kind", "title", "status", "message", "epochs", "has_artifacts"]
        return pd.DataFrame(records, columns=None if records else columns)

    def get(self, run_id: int) -> StoredRun:
        """The run `run_id` with its history.

        Raises:
            ValueError: when the store has no such run.
        """
        with self._connect(write=False) as db:
            row = db.execute(
                "SELECT id, kind, title, status, message, spec, config, metrics, has_artifacts,"
                " created_at, finished_at FROM runs WHERE id = ?",
                (int(run_id),),
            ).fetchone()
            if row is None:
                raise ValueError(f"run store {self.root} has no run {run_id!r}")
            epochs = db.execute(
                "SELECT metrics FROM epochs WHERE run_id = ? ORDER BY epoch", (int(run_id),)
            ).fetchall()
        rid, kind, title, status, message, spec, config, metrics, has, created, finished = row
        return StoredRun(
            id=rid,
            kind=kind,
            title=title,
            status=status,
            message=message,
            spec=json.loads(spec),
            config=json.loads(config),
            metrics=json.loads(metrics),
            epochs=[json.loads(e[0]) for e in epochs],
            has_artifacts=bool(has) and status in FINAL_STATUSES,
            created_at=created,
            finished_at=finished,
        )

    def load_predictor(self, run_id: int, device: str = "cpu") -> Predictor:
        """The trained predictor of a finished run (checked like any `Predictor.load`).

        Raises:
            ValueError: when the run has no complete weights, or they fail the checks.
        """
        from hypernas_core.predictor import Predictor

        self._require_artifacts(run_id)
        try:
            return Predictor.load(self.artifact_dir(run_id), device=device)
        except FileNotFoundError as err:
            raise ValueError(f"run {run_id} has no saved weights: {err}") from err

    def load_arrays(self, run_id: int) -> dict[str, np.ndarray]:
        """The arrays saved with a finished run ({} when it saved none).

        Raises:
            ValueError: when the run has no complete artifacts or the file is not safetensors.
        """
        self._require_artifacts(run_id)
        path = self.artifact_dir(run_id) / ARRAYS_FILE
        if not path.is_file():
            return {}
        try:
            return load_numpy(str(path))
        except Exception as err:  # safetensors raises its own error types for corrupt files
            raise ValueError(f"{path} is not a valid safetensors file: {err}") from err

    def _require_artifacts(self, run_id: int) -> None:
        run = self.get(run_id)
        if not run.has_artifacts:
            raise ValueError(f"run {run_id} ({run.status}) has no complete saved weights or arrays")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dumps(value: Any) -> str:
    """JSON text; NaN and inf are kept (as JSON's NaN/Infinity extension) so a diverged epoch's
    record is stored as it was."""
    return json.dumps(value, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store a {type(value).__name__} in the run store (got {value!r})")


def _flat_numbers(metrics: dict[str, Any]) -> dict[str, Any]:
    """The scalar metrics (numbers and strings) of a metrics dict, for a table row."""
    return {
        k: v
        for k, v in metrics.items()
        if isinstance(v, str | int | float) and not (isinstance(v, float) and math.isnan(v))
    }
