"""Who may act as whom: the grid-mapfile authorizer every server shares (the GridFTP session, the WS-RF app and,
next, the job manager). The file is read again when it changes, so an operator's edit takes effect at once,
without a restart; reading it is shared by threads."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .gridmap import Gridmap


class GridmapAuthorizer:
    """Maps verified grid identities to local accounts through a grid-mapfile."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._cached: tuple[tuple[int, int, int], Gridmap] | None = None
        self._lock = threading.Lock()

    def gridmap(self) -> Gridmap:
        """The grid-mapfile as it is now (re-read when its modification time, size or inode changed: an edit
        within one timestamp tick, or a file renamed into place, is seen too)."""
        st = self.path.stat()
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            if self._cached is None or self._cached[0] != key:
                self._cached = (key, Gridmap.load(self.path))
            return self._cached[1]

    def authorize(self, identity: str, account: str | None = None) -> str:
        """The local account identity may use (the first listed, or the one asked for); NotAuthorized (a
        GSIError whose `public` text is safe to show a client) says why not; OSError if the file is unreadable."""
        return self.gridmap().authorize(identity, account)
