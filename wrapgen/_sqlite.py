"""SQLite as wrapgen's servers use it: one short-lived connection per operation (server workers, runners, the
executor and sweepers are separate processes, and SQLite connections must not cross a fork), WAL so readers
never wait for the writer, a busy timeout instead of "database is locked", immediate transactions for
read-modify-write, and additive schema migrations. Used by the WS-RF store; next by the job store and the
pipeline journal."""

from __future__ import annotations

import os
import sqlite3
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
    with connect(path, synchronous) as db:
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
