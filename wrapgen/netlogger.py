"""NetLogger best-practice (BP) lines: `ts=... event=name.start|.end level=... guid=... status=N key=value ...`,
written by pipeline runs, the GridFTP server (--log-transfer) and url-copy (-log-transfer).

One event per line, written with one write() to a file opened O_APPEND, so lines from threads (and from jobs that
inherit NETLOGGER_GUID) never interleave, and a kill -9 loses no line already written: a `.start` without its
`.end` is the crash report."""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: The environment variable that carries a guid to child processes (nlapi's convention).
GUID_VARIABLE = "NETLOGGER_GUID"

LEVELS = ("FATAL", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG", "TRACE")
_BARE = re.compile(r"^[^\s\"=\\]+$")
_FIELD = re.compile(r'([A-Za-z_.][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def timestamp(t: float) -> str:
    """ISO 8601 UTC with microseconds, as BP wants: 2026-12-01T14:32:15.145455Z."""
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> float:
    """Seconds since the epoch from a BP timestamp (or a float)."""
    try:
        return float(text)
    except ValueError:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc).timestamp()


def quote(value: Any) -> str:
    """A value as BP writes it: bare if it can be, else in double quotes with \\ escapes."""
    text = value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    if text and _BARE.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def unquote(text: str) -> str:
    """The inverse of quote()."""
    if not text.startswith('"'):
        return text
    out, i, body = [], 0, text[1:-1]
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            out.append({"n": "\n", "r": "\r"}.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def format_line(t: float, event: str, level: str = "INFO", **fields: Any) -> str:
    """One BP line (no newline)."""
    parts = [f"ts={timestamp(t)}", f"event={event}", f"level={level}"]
    parts += [f"{k}={quote(v)}" for k, v in fields.items() if v is not None]
    return " ".join(parts)


def parse_line(line: str) -> dict[str, str]:
    """A BP line's fields (values unquoted; ts left as text)."""
    return {k: unquote(v) for k, v in _FIELD.findall(line)}


def read(path: str | os.PathLike[str]) -> Iterator[dict[str, str]]:
    """The events of a log file, in order; a torn last line (a crash mid-write) is skipped."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.endswith("\n") and line.startswith("ts="):
                yield parse_line(line)


def inherited_guid() -> str:
    """The guid a parent passed down (NETLOGGER_GUID), else a new one: a tool started by a pipeline logs under
    the pipeline run's guid."""
    import uuid

    return os.environ.get(GUID_VARIABLE) or uuid.uuid4().hex


class EventLog:
    """A run's BP log: every event carries the run's guid."""

    def __init__(self, path: str | os.PathLike[str], guid: str) -> None:
        self.path, self.guid = Path(path), guid
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._lock = threading.Lock()

    def write(self, event: str, level: str = "INFO", t: float | None = None, **fields: Any) -> None:
        """Append one event line."""
        import time

        line = format_line(time.time() if t is None else t, event, level, guid=self.guid, **fields) + "\n"
        with self._lock:
            if self._fd >= 0:
                os.write(self._fd, line.encode())

    def start(self, event: str, **fields: Any) -> None:
        """`event.start`."""
        self.write(f"{event}.start", **fields)

    def end(self, event: str, status: int = 0, **fields: Any) -> None:
        """`event.end` with status (< 0 an error, as BP has it)."""
        self.write(f"{event}.end", level="INFO" if status >= 0 else "ERROR", status=status, **fields)

    @contextmanager
    def span(self, event: str, **fields: Any) -> Iterator[dict[str, Any]]:
        """`event.start`, the block, then `event.end` with the seconds it took: status 0 with the fields the block
        put in the yielded dict, or status -1 with the exception's message (the exception goes on)."""
        import time

        self.start(event, **fields)
        done: dict[str, Any] = {}
        t0 = time.monotonic()
        try:
            yield done
        except BaseException as exc:
            self.end(event, -1, **fields, seconds=round(time.monotonic() - t0, 6),
                     msg=getattr(exc, "cause", None) or str(exc))
            raise
        self.end(event, 0, **fields, **done, seconds=round(time.monotonic() - t0, 6))

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
