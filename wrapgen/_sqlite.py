"""SQLite as wrapgen's servers use it: one short-lived connection per operation (server workers, runners, the
executor and sweepers are separate processes, and SQLite connections must not cross a fork), WAL so readers
never wait for the writer, a busy timeout instead of "database is locked", immediate transactions for
read-modify-write, and additive schema migrations. Used by the WS-RF store; next by the job store and the
pipeline journal."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

BUSY_MS = 30_000


@contextmanager
def connect(path: str | os.PathLike[str], synchronous: str = "FULL") -> Iterator[sqlite3.Connection]:
    """A connection in autocommit mode (each statement its own transaction), WAL, with a busy timeout.
    synchronous NORMAL survives a killed process but may lose the last commits in a power cut (cheaper)."""
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"synchronous={synchronous!r}: expected FULL or NORMAL")
    db = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        db.execute(f"PRAGMA synchronous={synchronous}")
        yield db
    finally:
        db.close()


@contextmanager
def transaction(path: str | os.PathLike[str], synchronous: str = "FULL") -> Iterator[sqlite3.Connection]:
    """A connection inside BEGIN IMMEDIATE: committed when the block ends, rolled back if it raises (a return
    inside the block commits)."""
    with connect(path, synchronous) as db, immediate(db):
        yield db


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE on db; COMMIT when the block ends, ROLLBACK if it raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # closing the connection rolls back anyway; keep the original error
        raise
    db.execute("COMMIT")


def add_missing_columns(db: sqlite3.Connection, columns: Iterable[tuple[str, str]]) -> None:
    """Additive migration: (table, 'name TYPE') pairs a database written by an earlier version lacks."""
    for table, column in columns:
        have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        if column.split()[0] not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")


class ThreadConnections:
    """One connection per thread, kept open, for a store used by the threads of one process (the job manager):
    no connect per operation, and no WAL checkpoint at every close (closing the last connection to a WAL
    database checkpoints it, several milliseconds each time). An anchor connection stays open for the store's
    life, so a thread's connection closing never is the last."""

    def __init__(self, path: str | os.PathLike[str], synchronous: str = "FULL") -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous={synchronous!r}: expected FULL or NORMAL")
        self.path, self.synchronous = str(path), synchronous
        self._local = threading.local()
        self._write = threading.Lock()
        self._anchor = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=True)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        db.execute(f"PRAGMA synchronous={self.synchronous}")
        return db

    def get(self) -> sqlite3.Connection:
        """This thread's connection (autocommit: each statement its own transaction)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._open()
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE on this thread's connection; committed at the end, rolled back if the block raises."""
        # One writer at a time, queued here: threads meeting at SQLite's lock would sleep in its busy handler
        # (1, 2, 5, 10 ms ... steps), which cost a job manager with 100 jobs in flight ~7 ms per transaction.
        with self._write, immediate(self.get()) as db:
            yield db

    def close(self) -> None:
        """Close the anchor (threads' connections close when their threads end)."""
        self._anchor.close()

