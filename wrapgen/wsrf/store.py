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
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._sqlite import add_missing_columns, connect, transaction
from .status import Status, can

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    key TEXT PRIMARY KEY, library TEXT NOT NULL, function TEXT NOT NULL,
    status TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0,
    params BLOB NOT NULL, result BLOB, error TEXT, exception TEXT, error_code TEXT,
    created REAL NOT NULL, started REAL, finished REAL, termination REAL, pid INTEGER, address TEXT);
CREATE TABLE IF NOT EXISTS blobs (
    token TEXT PRIMARY KEY, resource TEXT, data BLOB NOT NULL, expires REAL);
CREATE INDEX IF NOT EXISTS blobs_resource ON blobs(resource);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, resource TEXT NOT NULL, library TEXT NOT NULL, function TEXT NOT NULL,
    address TEXT, topic TEXT NOT NULL, old TEXT, new TEXT, time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT PRIMARY KEY, resource TEXT NOT NULL, manager TEXT NOT NULL, consumer BLOB NOT NULL,
    pullpoint TEXT, topics TEXT NOT NULL, termination REAL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS subscriptions_resource ON subscriptions(resource);
CREATE TABLE IF NOT EXISTS pullpoints (id TEXT PRIMARY KEY, library TEXT NOT NULL, termination REAL);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, pullpoint TEXT NOT NULL, xml BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, subscription TEXT NOT NULL, consumer BLOB NOT NULL, xml BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL);
"""

# Topics a resource publishes (WS-Topics Simple dialect names).
STATUS_TOPIC = "Status"
TERMINATION_TOPIC = "ResourceTermination"


@dataclass
class Event:
    """A state change waiting to be turned into notifications."""

    id: int
    resource: str
    library: str
    function: str
    address: str | None
    topic: str
    old: str | None
    new: str | None
    time: float


@dataclass
class Subscription:
    """A WS-BaseNotification subscription to one resource."""

    id: str
    resource: str
    manager: str
    consumer: bytes
    pullpoint: str | None
    topics: list[str]
    termination: float | None
    owner: str | None = None



class QuotaExceeded(Exception):
    """A stateless call's result does not fit in its owner's download quota."""




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
    owner: str | None = None  # the verified identity that created it (None: no authentication)


class Store:
    """Resource state in one SQLite file (WAL mode, so readers never block the writer)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)
            # Databases written by an earlier version: add the columns it did not have.
            add_missing_columns(db, (("resources", "address TEXT"), ("resources", "owner TEXT"), ("blobs", "owner TEXT"),
                                     ("subscriptions", "owner TEXT"), ("pullpoints", "owner TEXT")))

    def _db(self) -> AbstractContextManager[sqlite3.Connection]:
        # One short-lived connection per operation (see wrapgen._sqlite).
        return connect(self.path)

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        # An immediate transaction for read-modify-write (committed at the end of the block).
        return transaction(self.path)

    def create(self, library: str, function: str, params: dict[str, Any], termination: float | None,
               address: str | None = None, owner: str | None = None) -> str:
        """A new resource in state Created, belonging to owner; returns its opaque key."""
        key = secrets.token_urlsafe(18)
        with self._db() as db:
            db.execute("INSERT INTO resources (key, library, function, status, params, created, termination, "
                       "address, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (key, library, function, Status.CREATED, pack(params), time.time(), termination, address,
                        owner))
        return key

    @staticmethod
    def _event(db: sqlite3.Connection, key: str, topic: str, old: str | None, new: str | None) -> None:
        # In the same transaction as the change it reports (an outbox: nothing is notified that did not happen).
        db.execute("INSERT INTO events (resource, library, function, address, topic, old, new, time) "
                   "SELECT key, library, function, address, ?, ?, ?, ? FROM resources WHERE key=?",
                   (topic, old, new, time.time(), key))

    def get(self, key: str, library: str | None = None, function: str | None = None) -> Resource | None:
        """The resource with this key (and, if given, of this library and function)."""
        with self._db() as db:
            row = db.execute("SELECT key, library, function, status, progress, params, result, error, exception, "
                             "error_code, created, started, finished, termination, pid, owner FROM resources "
                             "WHERE key=?",
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
            cur = db.execute("UPDATE resources SET params=? WHERE key=? AND status=?",
                             (pack(params), key, Status.CREATED))
            return cur.rowcount == 1

    def mark_running(self, key: str) -> bool:
        """Created -> Running, atomically; False if it was not Created."""
        with self._tx() as db:
            cur = db.execute("UPDATE resources SET status=?, started=? WHERE key=? AND status=?",
                             (Status.RUNNING, time.time(), key, Status.CREATED))
            if cur.rowcount == 1:
                self._event(db, key, STATUS_TOPIC, Status.CREATED, Status.RUNNING)
            return cur.rowcount == 1

    def set_pid(self, key: str, pid: int | None) -> None:
        """Record the process running the computation (used by Cancel and the sweeper)."""
        with self._db() as db:
            db.execute("UPDATE resources SET pid=? WHERE key=?", (pid, key))

    def finish(self, key: str, status: str, result: dict[str, Any] | None = None, error: str | None = None,
               exception: str | None = None, error_code: str | None = None) -> bool:
        """Running -> Succeeded/Failed; False if the resource was cancelled or destroyed meanwhile."""
        if not can(Status.RUNNING, status) or status == Status.CANCELLED:
            raise ValueError(f"a computation finishes Succeeded or Failed, not {status!r}")
        with self._tx() as db:
            cur = db.execute("UPDATE resources SET status=?, progress=?, result=?, error=?, exception=?, "
                             "error_code=?, finished=?, pid=NULL WHERE key=? AND status=?",
                             (str(status), 1.0 if status == Status.SUCCEEDED else 0.0,
                              pack(result) if result is not None else None, error, exception, error_code,
                              time.time(), key, Status.RUNNING))
            if cur.rowcount == 1:
                self._event(db, key, STATUS_TOPIC, Status.RUNNING, str(status))
            return cur.rowcount == 1

    def cancel(self, key: str) -> tuple[bool, int | None]:
        """Created/Running -> Cancelled; (changed, pid of the process to stop)."""
        with self._tx() as db:
            row = db.execute("SELECT status, pid FROM resources WHERE key=?", (key,)).fetchone()
            if row is None or not can(row[0], Status.CANCELLED):
                return False, None
            db.execute("UPDATE resources SET status=?, error='cancelled by request', finished=?, pid=NULL "
                       "WHERE key=?", (Status.CANCELLED, time.time(), key))
            self._event(db, key, STATUS_TOPIC, row[0], Status.CANCELLED)
            return True, row[1]

    def set_termination(self, key: str, termination: float | None) -> None:
        """Schedule (or, with None, unschedule) the resource's destruction."""
        with self._db() as db:
            db.execute("UPDATE resources SET termination=? WHERE key=?", (termination, key))

    def destroy(self, key: str, reason: str = "destroyed by request") -> tuple[bool, int | None]:
        """Delete a resource and its blobs; (existed, pid of a computation still running).

        Its subscriptions stay until the notifier has sent them the TerminationNotification.
        """
        with self._tx() as db:
            row = db.execute("SELECT status, pid FROM resources WHERE key=?", (key,)).fetchone()
            if row is not None:
                self._event(db, key, TERMINATION_TOPIC, None, reason)
            db.execute("DELETE FROM resources WHERE key=?", (key,))
            db.execute("DELETE FROM blobs WHERE resource=?", (key,))
        if row is None:
            return False, None
        return True, row[1] if row[0] == Status.RUNNING else None

    def running(self) -> list[tuple[str, int | None, float | None]]:
        """(key, pid, started) of every Running resource."""
        with self._db() as db:
            return [(r[0], r[1], r[2]) for r in db.execute("SELECT key, pid, started FROM resources WHERE status=?",
                                                            (Status.RUNNING,))]

    def expired(self, now: float) -> list[str]:
        """Keys of resources whose termination time has passed."""
        with self._db() as db:
            return [r[0] for r in db.execute("SELECT key FROM resources WHERE termination IS NOT NULL AND "
                                             "termination <= ?", (now,))]

    def put_blob(self, data: bytes, resource: str | None, expires: float | None, token: str | None = None,
                 owner: str | None = None, quota: int | None = None) -> str:
        """Keep bytes for download (replacing an earlier blob with the same token); returns the token. A stateless
        call's blobs (resource None) count against their owner's quota (all anonymous callers share one)."""
        token = token or secrets.token_urlsafe(18)
        with self._tx() as db:
            if quota is not None and resource is None:
                held = db.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM blobs WHERE resource IS NULL AND "
                                  "owner IS ? AND (expires IS NULL OR expires > ?)", (owner, time.time())).fetchone()[0]
                if held + len(data) > quota:
                    raise QuotaExceeded(f"the result needs {len(data)} bytes of download space and "
                                        f"{held} of the {quota} allowed are held by earlier results; fetch "
                                        "them (a download frees its space) or wait for them to expire")
            db.execute("INSERT OR REPLACE INTO blobs (token, resource, data, expires, owner) VALUES (?, ?, ?, ?, ?)",
                       (token, resource, data, expires, owner))
        return token

    def get_blob(self, token: str) -> tuple[bytes, str | None] | None:
        """(bytes, owner) behind a download token, if it is still there. A stateless call's blob is handed out
        once: fetching it frees its space."""
        with self._tx() as db:
            row = db.execute("SELECT data, owner, resource FROM blobs WHERE token=? AND (expires IS NULL OR expires > ?)",
                             (token, time.time())).fetchone()
        return (bytes(row[0]), row[1]) if row else None

    def drop_blob(self, token: str) -> None:
        """Forget a stateless call's blob (after its download)."""
        with self._db() as db:
            db.execute("DELETE FROM blobs WHERE token=? AND resource IS NULL", (token,))

    def drop_expired_blobs(self, now: float) -> int:
        """Delete download blobs past their expiry."""
        with self._db() as db:
            return db.execute("DELETE FROM blobs WHERE expires IS NOT NULL AND expires <= ?", (now,)).rowcount

    # --- notifications ------------------------------------------------------------------------------------
    def take_events(self, limit: int = 100) -> list[Event]:
        """Remove and return the oldest pending events."""
        with self._tx() as db:
            rows = db.execute("SELECT id, resource, library, function, address, topic, old, new, time FROM events "
                              "ORDER BY id LIMIT ?", (limit,)).fetchall()
            if rows:
                db.execute("DELETE FROM events WHERE id <= ?", (rows[-1][0],))
        return [Event(*r) for r in rows]

    def subscribe(self, resource: str, manager: str, consumer: bytes, pullpoint: str | None, topics: list[str],
                  termination: float | None, owner: str | None = None) -> str:
        """Record a subscription; returns its key."""
        sid = secrets.token_urlsafe(18)
        with self._db() as db:
            db.execute("INSERT INTO subscriptions (id, resource, manager, consumer, pullpoint, topics, termination, "
                       "created, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (sid, resource, manager, consumer, pullpoint, ",".join(topics), termination, time.time(), owner))
        return sid

    def subscription(self, sid: str) -> Subscription | None:
        """One subscription by key."""
        with self._db() as db:
            r = db.execute("SELECT id, resource, manager, consumer, pullpoint, topics, termination, owner FROM "
                           "subscriptions WHERE id=?", (sid,)).fetchone()
        return Subscription(*r[:5], [t for t in r[5].split(",") if t], r[6], r[7]) if r else None

    def subscriptions_for(self, resource: str) -> list[Subscription]:
        """Every live subscription to a resource."""
        with self._db() as db:
            rows = db.execute("SELECT id, resource, manager, consumer, pullpoint, topics, termination FROM "
                              "subscriptions WHERE resource=? AND (termination IS NULL OR termination > ?)",
                              (resource, time.time())).fetchall()
        return [Subscription(*r[:5], [t for t in r[5].split(",") if t], r[6]) for r in rows]

    def renew(self, sid: str, termination: float | None) -> bool:
        """Set a subscription's termination time; False if it is gone."""
        with self._db() as db:
            return db.execute("UPDATE subscriptions SET termination=? WHERE id=?", (termination, sid)).rowcount == 1

    def unsubscribe(self, sid: str) -> bool:
        """Delete a subscription; False if it was not there."""
        with self._db() as db:
            db.execute("DELETE FROM outbox WHERE subscription=?", (sid,))
            return db.execute("DELETE FROM subscriptions WHERE id=?", (sid,)).rowcount == 1

    def drop_subscriptions(self, resource: str) -> None:
        """Delete the subscriptions of a destroyed resource."""
        with self._db() as db:
            db.execute("DELETE FROM subscriptions WHERE resource=?", (resource,))

    def create_pullpoint(self, library: str, termination: float | None, owner: str | None = None) -> str:
        """A new pull point; returns its key."""
        pid = secrets.token_urlsafe(18)
        with self._db() as db:
            db.execute("INSERT INTO pullpoints (id, library, termination, owner) VALUES (?, ?, ?, ?)",
                       (pid, library, termination, owner))
        return pid

    def pullpoint_exists(self, pid: str) -> bool:
        """Whether a pull point is there."""
        return self.pullpoint(pid) is not None

    def pullpoint(self, pid: str) -> tuple[str, str | None] | None:
        """(key, owner) of a pull point, None if it is not there."""
        with self._db() as db:
            row = db.execute("SELECT id, owner FROM pullpoints WHERE id=?", (pid,)).fetchone()
        return (row[0], row[1]) if row else None

    def destroy_pullpoint(self, pid: str) -> bool:
        """Delete a pull point, its messages and the subscriptions that feed it."""
        with self._db() as db:
            db.execute("DELETE FROM messages WHERE pullpoint=?", (pid,))
            db.execute("DELETE FROM subscriptions WHERE pullpoint=?", (pid,))
            return db.execute("DELETE FROM pullpoints WHERE id=?", (pid,)).rowcount == 1

    def add_message(self, pullpoint: str, xml: bytes) -> None:
        """Queue a NotificationMessage in a pull point."""
        with self._db() as db:
            db.execute("INSERT INTO messages (pullpoint, xml) SELECT id, ? FROM pullpoints WHERE id=?", (xml, pullpoint))

    def take_messages(self, pullpoint: str, limit: int | None) -> list[bytes]:
        """Remove and return the oldest messages of a pull point."""
        with self._tx() as db:
            rows = db.execute("SELECT id, xml FROM messages WHERE pullpoint=? ORDER BY id LIMIT ?",
                              (pullpoint, -1 if limit is None else limit)).fetchall()
            if rows:
                db.execute("DELETE FROM messages WHERE pullpoint=? AND id <= ?", (pullpoint, rows[-1][0]))
        return [bytes(r[1]) for r in rows]

    def queue(self, subscription: str, consumer: bytes, xml: bytes) -> None:
        """Queue a Notify for push delivery."""
        with self._db() as db:
            db.execute("INSERT INTO outbox (subscription, consumer, xml, next_try) VALUES (?, ?, ?, ?)",
                       (subscription, consumer, xml, time.time()))

    def due(self, now: float, limit: int = 50) -> list[tuple[int, str, bytes, bytes, int]]:
        """Outbox rows whose next try is due: (id, subscription, consumer EPR, message, attempts).

        Only the oldest message of each subscription, so a consumer gets its messages in order even
        when an earlier one is waiting for a retry.
        """
        with self._db() as db:
            return [(r[0], r[1], bytes(r[2]), bytes(r[3]), r[4]) for r in db.execute(
                "SELECT id, subscription, consumer, xml, attempts FROM outbox o WHERE next_try <= ? AND "
                "id = (SELECT MIN(id) FROM outbox WHERE subscription = o.subscription) ORDER BY id LIMIT ?",
                (now, limit))]

    def delivered(self, oid: int) -> None:
        """Drop a delivered (or abandoned) outbox row."""
        with self._db() as db:
            db.execute("DELETE FROM outbox WHERE id=?", (oid,))

    def retry_later(self, oid: int, next_try: float) -> None:
        """Count a failed attempt and schedule the next."""
        with self._db() as db:
            db.execute("UPDATE outbox SET attempts=attempts+1, next_try=? WHERE id=?", (next_try, oid))

    def expire_notifications(self, now: float) -> None:
        """Delete subscriptions and pull points past their termination time."""
        with self._db() as db:
            for (pid,) in db.execute("SELECT id FROM pullpoints WHERE termination IS NOT NULL AND termination <= ?",
                                     (now,)).fetchall():
                db.execute("DELETE FROM messages WHERE pullpoint=?", (pid,))
                db.execute("DELETE FROM subscriptions WHERE pullpoint=?", (pid,))
                db.execute("DELETE FROM pullpoints WHERE id=?", (pid,))
            db.execute("DELETE FROM outbox WHERE subscription IN (SELECT id FROM subscriptions WHERE termination "
                       "IS NOT NULL AND termination <= ?)", (now,))
            db.execute("DELETE FROM subscriptions WHERE termination IS NOT NULL AND termination <= ?", (now,))
