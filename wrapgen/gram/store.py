"""The job store: every job's description, state, native id and outcome in SQLite (WAL), written before each side
effect, so a job manager killed at any point and started again finds every job where it was. State changes go
through `move()`, which asks gram.state whether the transition is legal and appends an event (the outbox the
callbacks, the event streams and polling read)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .._sqlite import ThreadConnections, connect
from .state import JobState, check

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, owner TEXT, description TEXT NOT NULL, state INTEGER NOT NULL,
    failure_code INTEGER NOT NULL DEFAULT 0, exit_code INTEGER, cause TEXT NOT NULL DEFAULT '',
    control TEXT NOT NULL, directory TEXT NOT NULL, native_id TEXT, launching INTEGER NOT NULL DEFAULT 0,
    submitted REAL NOT NULL, updated REAL NOT NULL, started REAL, finished REAL, commit_deadline REAL,
    committed INTEGER NOT NULL DEFAULT 0, ended_ack INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0, expiration REAL NOT NULL DEFAULT 14400);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, state INTEGER NOT NULL,
    failure_code INTEGER NOT NULL DEFAULT 0, exit_code INTEGER, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS events_job ON events (job, seq);
CREATE TABLE IF NOT EXISTS callbacks (
    job TEXT NOT NULL, url TEXT NOT NULL, mask INTEGER NOT NULL, delivered INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job, url));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
TERMINAL = (int(JobState.DONE), int(JobState.FAILED))


@dataclass(frozen=True)
class JobRecord:
    """One row of the jobs table."""

    id: str
    owner: str | None
    description: str
    state: int
    failure_code: int
    exit_code: int | None
    cause: str
    control: str
    directory: str
    native_id: str | None
    launching: int
    submitted: float
    updated: float
    started: float | None
    finished: float | None
    commit_deadline: float | None
    committed: int
    ended_ack: int
    cancel_requested: int
    expiration: float

    @property
    def job_state(self) -> JobState:
        """The state as the enum."""
        return JobState(self.state)

    def as_json(self) -> dict[str, Any]:
        """What a client is told of the job."""
        return {"id": self.id, "state": JobState(self.state).name, "failure_code": self.failure_code,
                "exit_code": self.exit_code, "cause": self.cause, "submitted": self.submitted,
                "updated": self.updated, "started": self.started, "finished": self.finished, "native_id": self.native_id,
                "directory": self.directory, "description": json.loads(self.description)}


@dataclass(frozen=True)
class Event:
    """A state change, in the order they happened."""

    seq: int
    job: str
    state: int
    failure_code: int
    exit_code: int | None
    at: float

    def as_json(self) -> dict[str, Any]:
        """The event as clients get it."""
        return {"seq": self.seq, "job": self.job, "state": JobState(self.state).name,
                "failure_code": self.failure_code, "exit_code": self.exit_code, "at": self.at}


_COLUMNS = ", ".join(f.name for f in fields(JobRecord))


class JobStore:
    """Jobs in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        with connect(self.path) as db:
            db.executescript(SCHEMA)
        # WAL with synchronous=NORMAL survives a killed process (the requirement) at a fraction of FULL's cost;
        # a power cut may lose the last transactions, never corrupt the file.
        self._db = ThreadConnections(self.path, "NORMAL")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._db.transaction() as db:
            yield db

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        yield self._db.get()

    def create(self, job_id: str, owner: str | None, description: str, state: JobState, control: str,
               directory: str, commit_deadline: float | None, expiration: float) -> JobRecord:
        """A new job in its first state (UNSUBMITTED), with its first event."""
        now = time.time()
        with self._tx() as db:
            db.execute("INSERT INTO jobs (id, owner, description, state, control, directory, submitted, updated, "
                       "commit_deadline, expiration) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (job_id, owner, description, int(state), control, directory, now, now, commit_deadline,
                        expiration))
            db.execute("INSERT INTO events (job, state, at) VALUES (?, ?, ?)", (job_id, int(state), now))
        rec = self.get(job_id)
        assert rec is not None
        return rec

    def get(self, job_id: str) -> JobRecord | None:
        """The job, or None."""
        with self._read() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id=?", (job_id,)).fetchone()
        return JobRecord(*row) if row else None

    def move(self, job_id: str, before: JobState, after: JobState, **changes: Any) -> bool:
        """before -> after with changes, only if the job is still in `before` (False if not); the transition
        must be one gram.state allows."""
        check(before, after)
        now = time.time()
        changes = {**changes, "state": int(after), "updated": now}
        if after.terminal:
            changes.setdefault("finished", now)
        sets = ", ".join(f"{k}=?" for k in changes)
        with self._tx() as db:
            cur = db.execute(f"UPDATE jobs SET {sets} WHERE id=? AND state=?",
                             (*changes.values(), job_id, int(before)))
            if cur.rowcount != 1:
                return False
            db.execute("INSERT INTO events (job, state, failure_code, exit_code, at) VALUES (?, ?, ?, ?, ?)",
                       (job_id, int(after), changes.get("failure_code", 0), changes.get("exit_code"), now))
        return True

    def update(self, job_id: str, **changes: Any) -> None:
        """Fields other than the state (native_id, launching, committed, cancel_requested, ...)."""
        if "state" in changes:
            raise ValueError("the state changes only through move()")
        sets = ", ".join(f"{k}=?" for k in changes)
        with self._tx() as db:
            db.execute(f"UPDATE jobs SET {sets}, updated=? WHERE id=?", (*changes.values(), time.time(), job_id))

    def unfinished(self) -> list[JobRecord]:
        """Every job not DONE or FAILED (what a starting manager takes over)."""
        with self._read() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE state NOT IN (?, ?) ORDER BY submitted",
                              TERMINAL).fetchall()
        return [JobRecord(*r) for r in rows]

    def jobs(self, owner: str | None = None, everyone: bool = False) -> list[JobRecord]:
        """The jobs of owner (or every job)."""
        with self._read() as db:
            if everyone:
                rows = db.execute(f"SELECT {_COLUMNS} FROM jobs ORDER BY submitted").fetchall()
            else:
                rows = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE owner IS ? ORDER BY submitted",
                                  (owner,)).fetchall()
        return [JobRecord(*r) for r in rows]

    def events(self, job_id: str, after: int = 0) -> list[Event]:
        """The job's state changes after sequence number `after`."""
        with self._read() as db:
            rows = db.execute("SELECT seq, job, state, failure_code, exit_code, at FROM events WHERE job=? AND seq>? "
                              "ORDER BY seq", (job_id, after)).fetchall()
        return [Event(*r) for r in rows]

    def expired(self, now: float) -> list[JobRecord]:
        """Finished jobs whose owner acknowledged them or whose expiration has passed."""
        with self._read() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE state IN (?, ?) AND (ended_ack=1 OR "
                              "finished + expiration < ?)", (*TERMINAL, now)).fetchall()
        return [JobRecord(*r) for r in rows]

    def delete(self, job_id: str) -> None:
        """Forget a finished job (its events and callbacks too)."""
        with self._tx() as db:
            for table, column in (("jobs", "id"), ("events", "job"), ("callbacks", "job")):
                db.execute(f"DELETE FROM {table} WHERE {column}=?", (job_id,))

    # --- callbacks ---------------------------------------------------------------------------------------------
    def add_callback(self, job_id: str, url: str, mask: int) -> None:
        """Register (or re-register with a new mask) url for the job's state changes in mask."""
        with self._tx() as db:
            db.execute("INSERT INTO callbacks (job, url, mask) VALUES (?, ?, ?) ON CONFLICT (job, url) DO UPDATE "
                       "SET mask=excluded.mask", (job_id, url, mask))

    def remove_callback(self, job_id: str, url: str) -> bool:
        """Unregister; False if it was not registered."""
        with self._tx() as db:
            return db.execute("DELETE FROM callbacks WHERE job=? AND url=?", (job_id, url)).rowcount == 1

    def callbacks(self) -> list[tuple[str, str, int, int]]:
        """(job, url, mask, last event delivered) of every registration."""
        with self._read() as db:
            return db.execute("SELECT job, url, mask, delivered FROM callbacks").fetchall()

    def delivered(self, job_id: str, url: str, seq: int) -> None:
        """Events up to seq have reached url (or were not in its mask)."""
        with self._tx() as db:
            db.execute("UPDATE callbacks SET delivered=? WHERE job=? AND url=? AND delivered<?",
                       (seq, job_id, url, seq))

    # --- manager facts -------------------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        """A fact the manager keeps across restarts (its port)."""
        with self._read() as db:
            row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Keep a fact."""
        with self._tx() as db:
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                       (key, value))
