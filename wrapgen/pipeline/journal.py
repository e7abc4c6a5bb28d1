"""The pipeline's journal: an append-only SQLite (WAL) file that a kill -9 at any instant leaves consistent.

Results are keyed by step key and never change once written; attempts are a log of events (started, submitted
with the backend's native id, failed, done), written before the side effect they announce. A rerun reads the
results (what need not run again) and the attempts (which jobs to re-attach to); nothing needs unlocking."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from .._sqlite import ThreadConnections

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (guid TEXT PRIMARY KEY, pipeline TEXT NOT NULL, started REAL NOT NULL,
    ended REAL, status TEXT, summary TEXT, pid INTEGER);
CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, node TEXT NOT NULL, outputs TEXT NOT NULL,
    record TEXT NOT NULL, run TEXT NOT NULL, placement TEXT NOT NULL, seconds REAL NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (seq INTEGER PRIMARY KEY AUTOINCREMENT, run TEXT NOT NULL, node TEXT NOT NULL,
    key TEXT NOT NULL, event TEXT NOT NULL, attempt INTEGER NOT NULL, native TEXT, at REAL NOT NULL, info TEXT);
CREATE INDEX IF NOT EXISTS attempts_key ON attempts (key);
CREATE INDEX IF NOT EXISTS attempts_run ON attempts (run);
CREATE TABLE IF NOT EXISTS latest (node TEXT PRIMARY KEY, key TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (digest TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS digests (path TEXT PRIMARY KEY, dev INTEGER, ino INTEGER, size INTEGER,
    mtime_ns INTEGER, ctime_ns INTEGER, sha256 TEXT NOT NULL);
"""


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class Journal:
    """One pipeline state directory's journal.db, used by the threads of one driver."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        # NORMAL in WAL mode: a committed transaction survives the process being killed (it is in the WAL, in
        # the OS's cache); only a power cut may lose the last ones, and a lost result just runs again.
        self._db = ThreadConnections(self.path, synchronous="NORMAL")
        with self._db.transaction() as db:
            for statement in filter(str.strip, SCHEMA.split(";")):
                db.execute(statement)

    def close(self) -> None:
        """Close the journal."""
        self._db.close()

    # --- runs ------------------------------------------------------------------------------------------------
    def begin_run(self, guid: str, pipeline: str) -> None:
        """Record a run's start."""
        with self._db.transaction() as db:
            db.execute("INSERT INTO runs (guid, pipeline, started, pid) VALUES (?, ?, ?, ?)",
                       (guid, pipeline, time.time(), os.getpid()))

    def end_run(self, guid: str, status: str, summary: dict[str, Any]) -> None:
        """Record a run's end and its summary."""
        with self._db.transaction() as db:
            db.execute("UPDATE runs SET ended = ?, status = ?, summary = ? WHERE guid = ?",
                       (time.time(), status, _canon(summary), guid))

    def runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first."""
        rows = self._db.get().execute("SELECT guid, pipeline, started, ended, status, summary, pid FROM runs "
                                      "ORDER BY started").fetchall()
        return [{"guid": g, "pipeline": p, "started": s, "ended": e, "status": st,
                 "summary": json.loads(su) if su else None, "pid": pid} for g, p, s, e, st, su, pid in rows]

    # --- results -----------------------------------------------------------------------------------------------
    def known(self) -> dict[str, dict[str, str]]:
        """Every recorded result: step key -> {output: digest}."""
        return {k: json.loads(o) for k, o in self._db.get().execute("SELECT key, outputs FROM results")}

    def result(self, key: str) -> dict[str, Any] | None:
        """One result's row."""
        row = self._db.get().execute("SELECT node, outputs, record, run, placement, seconds, at FROM results "
                                     "WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        node, outputs, record, run, placement, seconds, at = row
        return {"key": key, "node": node, "outputs": json.loads(outputs), "record": json.loads(record), "run": run,
                "placement": placement, "seconds": seconds, "at": at}

    def record_result(self, key: str, node: str, outputs: dict[str, str], record: dict[str, Any], run: str,
                      placement: str, seconds: float, attempt: int, blobs: dict[str, bytes] | None = None) -> None:
        """A step's outputs, once their digests are known, with the small ones' bytes (the last write of a step:
        after it, it is done)."""
        now = time.time()
        with self._db.transaction() as db:
            if blobs:
                db.executemany("INSERT OR IGNORE INTO blobs VALUES (?, ?)", list(blobs.items()))
            db.execute("INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (key, node, _canon(outputs), _canon(record), run, placement, seconds, now))
            db.execute("INSERT INTO attempts (run, node, key, event, attempt, at) VALUES (?, ?, ?, 'done', ?, ?)",
                       (run, node, key, attempt, now))
            db.execute("INSERT OR REPLACE INTO latest VALUES (?, ?, ?)", (node, key, _canon(record)))

    def previous(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """node -> (key, record) it last ran or was found cached with (what `why` compares against)."""
        return {n: (k, json.loads(r)) for n, k, r in self._db.get().execute("SELECT node, key, record FROM latest")}

    def set_latest(self, pairs: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Remember the keys nodes were found cached with (only those that changed are given)."""
        if pairs:
            with self._db.transaction() as db:
                db.executemany("INSERT OR REPLACE INTO latest VALUES (?, ?, ?)",
                               [(n, k, _canon(r)) for n, k, r in pairs])

    def blob_digests(self) -> set[str]:
        """The digests of the objects held inline."""
        return {d for (d,) in self._db.get().execute("SELECT digest FROM blobs")}

    def blob(self, digest: str) -> bytes | None:
        """An inline object's bytes."""
        row = self._db.get().execute("SELECT data FROM blobs WHERE digest = ?", (digest,)).fetchone()
        return row[0] if row else None

    # --- attempts ----------------------------------------------------------------------------------------------
    def event(self, run: str, node: str, key: str, event: str, attempt: int, native: str | None = None,
              info: dict[str, Any] | None = None) -> None:
        """Append one attempt event (started, submitted, retry, failed)."""
        with self._db.transaction() as db:
            db.execute("INSERT INTO attempts (run, node, key, event, attempt, native, at, info) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (run, node, key, event, attempt, native, time.time(),
                                                           _canon(info) if info else None))

    def attempts(self, run: str | None = None, key: str | None = None) -> list[dict[str, Any]]:
        """Attempt events of a run or of a key, in order."""
        where, args = ("run = ?", (run,)) if run is not None else ("key = ?", (key,))
        rows = self._db.get().execute(f"SELECT seq, run, node, key, event, attempt, native, at, info FROM attempts "
                                      f"WHERE {where} ORDER BY seq", args).fetchall()
        return [{"seq": s, "run": r, "node": n, "key": k, "event": e, "attempt": a, "native": nat, "at": at,
                 "info": json.loads(i) if i else None} for s, r, n, k, e, a, nat, at, i in rows]

    def attempt_numbers(self) -> dict[str, int]:
        """key -> the highest attempt number it has had (keys that never started are absent)."""
        return dict(self._db.get().execute("SELECT key, MAX(attempt) FROM attempts GROUP BY key"))

    # --- the digest cache ----------------------------------------------------------------------------------------
    def digests(self) -> dict[str, tuple[tuple[int, ...], str]]:
        """path -> (its stat identity, sha256), for every file digested before."""
        return {p: ((d, i, s, m, c), h) for p, d, i, s, m, c, h in self._db.get().execute("SELECT * FROM digests")}

    def remember_digests(self, rows: list[tuple[str, tuple[int, ...], str]]) -> None:
        """Store (path, stat identity, sha256) rows."""
        if rows:
            with self._db.transaction() as db:
                db.executemany("INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?, ?, ?)",
                               [(p, *ident, h) for p, ident, h in rows])
