"""ftp:// and gsiftp:// URLs for wrapgen.urls: one client session per server and thread, reused for every file
of a copy run (globus-url-copy -fast), third party between two servers."""

from __future__ import annotations

import calendar
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..urls.store import Stat, Store
from .errors import GridFTPError

if TYPE_CHECKING:
    from ..urls.settings import CopySettings
    from ..urls.url import Url
    from .client import Client


class GridFTPStore(Store):
    """Files on GridFTP servers (ours, GCT's, any FTP server for ftp://)."""

    schemes = ("ftp", "gsiftp")

    def __init__(self, settings: CopySettings) -> None:
        from .modee import BLOCK

        super().__init__(settings)
        self.block = BLOCK
        self._local = threading.local()
        self._all: list[Client] = []
        self._lock = threading.Lock()
        self._made: set[tuple[tuple, str]] = set()

    # --- sessions ---------------------------------------------------------------------------------------------
    def session(self, u: Url) -> Client:
        """The calling thread's session with u's server."""
        cache = getattr(self._local, "clients", None)
        if cache is None:
            cache = self._local.clients = {}
        key = _key(u)
        c = cache.get(key)
        if c is None:
            from .client import Client

            s = self.settings
            trace = (lambda line, k=key: print(f"debug: {k[1]}:{k[2]}: {line}", file=sys.stderr)) \
                if s.debug else None
            if u.scheme == "gsiftp":
                c = Client(u.host, u.port, user=u.user or None, gsi=True, delegate=s.delegate,
                           dcau=False if not (s.dcau and s.delegate) else None, private=s.private,
                           tcp_buffer=s.tcp_buffer, trace=trace)
            else:
                c = Client(u.host, u.port, u.user, u.password, tcp_buffer=s.tcp_buffer, trace=trace)
            cache[key] = c
            with self._lock:
                self._all.append(c)
        return c

    def forget(self, url: Url) -> None:
        """Close the calling thread's session with url's server (a retry opens a new one)."""
        c = getattr(self._local, "clients", {}).pop(_key(url), None)
        if c is not None:
            try:
                c.close()
            except (GridFTPError, OSError):
                pass

    def prune(self) -> None:
        """NOOP each of the calling thread's sessions; forget those that do not answer 200."""
        cache = getattr(self._local, "clients", {})
        for key, c in list(cache.items()):
            try:
                c.command("NOOP", 200)
            except (GridFTPError, OSError):
                cache.pop(key)
                c.close_now()
                with self._lock:
                    self._all.remove(c)

    def abort(self) -> None:
        """Shut every session's connections down now: transfers in progress in other threads fail at once."""
        with self._lock:
            clients = list(self._all)
        for c in clients:
            c.interrupt()

    def close(self) -> None:
        """End every session."""
        for c in self._all:
            try:
                c.close()
            except (GridFTPError, OSError):
                pass

    # --- the Store interface ----------------------------------------------------------------------------------
    def stat(self, url: Url) -> Stat | None:
        """MLST; None on 550."""
        from .client import ReplyError

        try:
            facts = self.session(url).stat(url.path)
        except ReplyError as exc:
            if exc.code == 550:
                return None
            raise
        modify = facts.get("modify", "")
        mtime = calendar.timegm(time.strptime(modify[:14], "%Y%m%d%H%M%S")) if modify else 0.0
        return Stat(int(facts.get("size", "0")), float(mtime), "dir" if facts.get("type") in ("dir", "cdir")
                    else "file")

    def list(self, url: Url) -> dict[str, Stat]:
        """MLSD."""
        out = {}
        for name, facts in self.session(url).list(url.path).items():
            kind = facts.get("type")
            if name in (".", "..") or kind not in ("file", "dir"):
                continue
            out[name] = Stat(int(facts.get("size", "0")), 0.0, kind)
        return out

    def mkdir(self, url: Url) -> None:
        """MKD of every component not made yet by this run (an existing one answers 550, which is fine)."""
        from .client import ReplyError

        parts = url.path.strip("/").split("/")
        c = self.session(url)
        for i in range(1, len(parts) + 1):
            d = "/" + "/".join(parts[:i])
            key = (_key(url), d)
            if key not in self._made:
                try:
                    c.mkdir(d)
                except ReplyError:
                    pass  # exists already (or the transfer that follows says why not)
                self._made.add(key)

    def download(self, url: Url, local: Path, offset: int = 0, length: int | None = None,
                 progress: Any = None) -> int:
        """RETR (REST to resume, ERET for a range) over MODE E parallel streams."""
        return self.session(url).get(url.path, local, parallel=self.settings.parallel, offset=offset,
                                     length=length, progress=progress)

    def upload(self, local: Path, url: Url, offset: int = 0, length: int | None = None, progress: Any = None) -> int:
        """STOR (ESTO for a range) over MODE E parallel streams."""
        return self.session(url).put(local, url.path, parallel=self.settings.parallel, offset=offset,
                                     length=length, progress=progress)

    def checksum(self, url: Url, algorithm: str, length: int = -1) -> str:
        """CKSM, computed by the server."""
        return self.session(url).checksum(url.path, algorithm, 0, length).lower()

    def third_party(self, src: Url, dst_store: Store, dst: Url) -> int | None:
        """Server to server when the destination is a GridFTP server too."""
        if not isinstance(dst_store, GridFTPStore):
            return None
        from .client import transfer

        a, b = self.session(src), dst_store.session(dst)
        transfer(a, src.path, b, dst.path, parallel=self.settings.parallel)
        return a.size(src.path)


def _key(u: Url) -> tuple:
    return (u.scheme, u.host, u.port, u.user)
