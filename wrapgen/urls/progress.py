"""url-copy's one-line progress display on a terminal."""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING

from .errors import TransferError

if TYPE_CHECKING:
    from .registry import Stores
    from .url import Url


class Progress:
    """A bar (by bytes for one file, by files for many), bytes and rate, redrawn four times a second from the
    native data path's byte counters while files are in flight."""

    def __init__(self, files: int, enabled: bool) -> None:
        self.files, self.enabled = files, enabled
        self.count, self.bytes, self.start = 0, 0, time.monotonic()
        self.total: int | None = None  # bytes of the only file, when known
        self._live: list = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        if enabled:
            threading.Thread(target=self._tick, name="url-copy-progress", daemon=True).start()

    def track(self, stores: Stores, src: Url):
        """A byte counter for a file starting now."""
        from .. import _core

        if self.files == 1 and self.total is None:
            try:
                st = stores.of(src).stat(src)
                self.total = st.size if st is not None else None
            except (OSError, TransferError):
                self.total = None
        counter = _core.Progress()
        with self._lock:
            self._live.append(counter)
        return counter

    def untrack(self, counter) -> None:
        """The file is over (done() counts its bytes)."""
        with self._lock:
            if counter in self._live:
                self._live.remove(counter)

    def done(self, n: int) -> None:
        """One file finished."""
        with self._lock:
            self.count += 1
            self.bytes += n
        self._draw()

    def _tick(self) -> None:
        while not self._stop.wait(0.25):
            self._draw()

    def _draw(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            moving = self.bytes + sum(c.bytes for c in self._live)
            count = self.count
        secs = max(time.monotonic() - self.start, 1e-9)
        width = 30
        if self.files == 1 and self.total:
            filled = min(width, width * moving // self.total)
            what = f"{moving / 1e6:.1f}/{self.total / 1e6:.1f} MB"
        else:
            filled = width * count // max(self.files, 1)
            what = f"{count}/{self.files} files {moving / 1e6:.1f} MB"
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {what} {moving / secs / 1e6:.1f} MB/s ")
        sys.stderr.flush()

    def close(self) -> None:
        """Stop redrawing and end the line."""
        self._stop.set()
        if self.enabled:
            self._draw()
            sys.stderr.write("\n")
