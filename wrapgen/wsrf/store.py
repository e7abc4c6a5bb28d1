"""The ResourceHome: WS-Resource state in SQLite, shared by every server worker and kept across restarts.

Values (parameters and results) are stored as .npz bytes (no pickles); large arrays offered for download
live in the blobs table until their resource is destroyed or they expire.
"""

from __future__ import annotations

import io
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    key TEXT PRIMARY KEY, library TEXT NOT NULL, function TEXT NOT NULL,
    status TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0,
    params BLOB NOT NULL, result BLOB, error TEXT, exception TEXT, error_code TEXT,
    created REAL NOT NULL, started REAL, finished REAL, termination REAL, pid INTEGER);
CREATE TABLE IF NOT EXISTS blobs (
    token TEXT PRIMARY KEY, resource TEXT, data BLOB NOT NULL, expires REAL);
CREATE INDEX IF NOT EXISTS blobs_resource ON blobs(resource);
"""

ACTIVE = ("Created", "Running")


def pack(values: dict[str, Any]) -> bytes:
    """Values (scalars or arrays) as .npz bytes; order and dtype are kept."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in values.items()})
    return buf.getvalue()


def unpack(data: bytes | None) -> dict[str, Any]:
    """The inverse of pack; 0-d arrays come back as Python scalars."""
    if not data:
        return {}
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        out = {}
        for k in z.files:
            a = z[k]
            out[k] = a.item() if a.ndim == 0 else a
        return out


@dataclass
class Resource:
    """One row of the resources table."""

    key: str
    library: str
    function: str
    status: str
    progress: float
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    exception: str | None
    error_code: str | None
    created: float
    started: float | None
    finished: float | None
    termination: float | None
    pid: int | None


class Store:
    """Resource state in one SQLite file (WAL mode, so readers never block the writer)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        # One short-lived connection per operation: workers, runners and the sweeper are separate processes.
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    def create(self, library: str, function: str, params: dict[str, Any], termination: float | None) -> str:
        """A new resource in state Created; returns its opaque key."""
        key = secrets.token_urlsafe(18)
        with self._db() as db:
            db.execute("INSERT INTO resources (key, library, function, status, params, created, termination) "
                       "VALUES (?, ?, ?, 'Created', ?, ?, ?)",
                       (key, library, function, pack(params), time.time(), termination))
        return key

    def get(self, key: str, library: str | None = None, function: str | None = None) -> Resource | None:
        """The resource with this key (and, if given, of this library and function)."""
        with self._db() as db:
            row = db.execute("SELECT key, library, function, status, progress, params, result, error, exception, "
                             "error_code, created, started, finished, termination, pid FROM resources WHERE key=?",
                             (key,)).fetchone()
        if row is None or (library and row[1] != library) or (function and row[2] != function):
            return None
        r = list(row)
        r[5] = unpack(r[5])
        r[6] = unpack(r[6]) if r[6] is not None else None
        return Resource(*r)

    def set_params(self, key: str, params: dict[str, Any]) -> bool:
        """Replace the parameters of a resource that has not started; False if it has."""
        with self._db() as db:
            cur = db.execute("UPDATE resources SET params=? WHERE key=? AND status='Created'", (pack(params), key))
            return cur.rowcount == 1

    def mark_running(self, key: str) -> bool:
        """Created -> Running, atomically; False if it was not Created."""
        with self._db() as db:
            cur = db.execute("UPDATE resources SET status='Running', started=? WHERE key=? AND status='Created'",
                             (time.time(), key))
            return cur.rowcount == 1

    def set_pid(self, key: str, pid: int | None) -> None:
        """Record the process running the computation (used by Cancel and the sweeper)."""
        with self._db() as db:
            db.execute("UPDATE resources SET pid=? WHERE key=?", (pid, key))

    def finish(self, key: str, status: str, result: dict[str, Any] | None = None, error: str | None = None,
               exception: str | None = None, error_code: str | None = None) -> bool:
        """Running -> Succeeded/Failed; False if the resource was cancelled or destroyed meanwhile."""
        with self._db() as db:
            cur = db.execute("UPDATE resources SET status=?, progress=?, result=?, error=?, exception=?, "
                             "error_code=?, finished=?, pid=NULL WHERE key=? AND status='Running'",
                             (status, 1.0 if status == "Succeeded" else 0.0,
                              pack(result) if result is not None else None, error, exception, error_code,
                              time.time(), key))
            return cur.rowcount == 1

    def cancel(self, key: str) -> tuple[bool, int | None]:
        """Created/Running -> Cancelled; (changed, pid of the process to stop)."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT status, pid FROM resources WHERE key=?", (key,)).fetchone()
            if row is None or row[0] not in ACTIVE:
                db.execute("COMMIT")
                return False, None
            db.execute("UPDATE resources SET status='Cancelled', error='cancelled by request', finished=?, pid=NULL "
                       "WHERE key=?", (time.time(), key))
            db.execute("COMMIT")
            return True, row[1]

    def set_termination(self, key: str, termination: float | None) -> None:
        """Schedule (or, with None, unschedule) the resource's destruction."""
        with self._db() as db:
            db.execute("UPDATE resources SET termination=? WHERE key=?", (termination, key))

    def destroy(self, key: str) -> tuple[bool, int | None]:
        """Delete a resource and its blobs; (existed, pid of a computation still running)."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT status, pid FROM resources WHERE key=?", (key,)).fetchone()
            db.execute("DELETE FROM resources WHERE key=?", (key,))
            db.execute("DELETE FROM blobs WHERE resource=?", (key,))
            db.execute("COMMIT")
        if row is None:
            return False, None
        return True, row[1] if row[0] == "Running" else None

    def expired(self, now: float) -> list[str]:
        """Keys of resources whose termination time has passed."""
        with self._db() as db:
            return [r[0] for r in db.execute("SELECT key FROM resources WHERE termination IS NOT NULL AND "
                                             "termination <= ?", (now,))]

    def put_blob(self, data: bytes, resource: str | None, expires: float | None, token: str | None = None) -> str:
        """Keep bytes for download (replacing an earlier blob with the same token); returns the token."""
        token = token or secrets.token_urlsafe(18)
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO blobs (token, resource, data, expires) VALUES (?, ?, ?, ?)",
                       (token, resource, data, expires))
        return token

    def get_blob(self, token: str) -> bytes | None:
        """The bytes behind a download token, if it is still there."""
        with self._db() as db:
            row = db.execute("SELECT data FROM blobs WHERE token=? AND (expires IS NULL OR expires > ?)",
                             (token, time.time())).fetchone()
        return bytes(row[0]) if row else None

    def drop_expired_blobs(self, now: float) -> int:
        """Delete download blobs past their expiry."""
        with self._db() as db:
            return db.execute("DELETE FROM blobs WHERE expires IS NOT NULL AND expires <= ?", (now,)).rowcount
