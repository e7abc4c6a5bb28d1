"""http:// and https:// URLs, as sources (requests; certificates verified by default)."""

from __future__ import annotations

import email.utils
import os
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import TransferError
from .store import Stat, Store

if TYPE_CHECKING:
    from .settings import CopySettings
    from .url import Url


class HTTPStore(Store):
    """Web servers: read whole files; no listing, writing, checksums or offsets."""

    schemes = ("http", "https")
    label = "http(s)"
    can_write = can_list = can_resume = can_checksum = False

    def __init__(self, settings: CopySettings) -> None:
        super().__init__(settings)
        self._live: set[Any] = set()
        self._lock = threading.Lock()
        self._aborted = False

    def stat(self, url: Url) -> Stat | None:
        """HEAD: Content-Length and Last-Modified (None on 404)."""
        import requests

        try:
            r = requests.head(url.text, timeout=self.settings.http_timeout, allow_redirects=True)
        except requests.RequestException as exc:
            raise TransferError(f"{url.text}: {exc}") from None
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise TransferError(f"{url.text}: HTTP {r.status_code} {r.reason}",
                                transient=r.status_code >= 500 or r.status_code in (408, 429))
        modified = r.headers.get("Last-Modified")
        mtime = email.utils.parsedate_to_datetime(modified).timestamp() if modified else 0.0
        etag = r.headers.get("ETag", "")
        return Stat(int(r.headers.get("Content-Length", 0)), mtime,
                    tag="" if etag.startswith("W/") else etag)  # a weak ETag does not promise the same bytes

    def download(self, url: Url, local: Path, offset: int = 0, length: int | None = None,
                 progress: Any = None) -> int:
        """GET the whole body into local."""
        import requests

        if offset or length is not None:
            raise TransferError(f"{url.text}: partial copies (-off/-len) are not supported for http(s) sources",
                                transient=False)
        try:
            with requests.get(url.text, stream=True, timeout=self.settings.http_timeout) as r:
                if r.status_code != 200:
                    raise TransferError(f"{url.text}: HTTP {r.status_code} {r.reason}",
                                        transient=r.status_code >= 500 or r.status_code in (408, 429))
                with self._lock:
                    if self._aborted:
                        raise TransferError(f"{url.text}: aborted")
                    self._live.add(r)
                try:
                    with open(local, "wb") as f:
                        # read1: what has arrived (up to 4 MiB), so the file grows as the body comes and a
                        # progress meter watching it sees the bytes move (read(n) waits for all n)
                        read = getattr(r.raw, "read1", None) or r.raw.read
                        while chunk := read(4 << 20):
                            f.write(chunk)
                finally:
                    with self._lock:
                        self._live.discard(r)
        except TransferError:
            raise
        except Exception as exc:  # requests', urllib3's (a broken body) and OSError
            if self._aborted:
                raise TransferError(f"{url.text}: aborted") from None
            if isinstance(exc, OSError) and exc.filename:
                raise  # the local file, not the server
            raise TransferError(f"{url.text}: {exc}") from None
        if self._aborted:
            raise TransferError(f"{url.text}: aborted")
        return local.stat().st_size

    def abort(self) -> None:
        """Shut down the sockets of the downloads in progress (their reads fail at once)."""
        with self._lock:
            self._aborted = True
            live = list(self._live)
        for r in live:
            # urllib3 keeps no socket object for a streamed body, only http.client's file over it: shut the
            # connection down through a duplicate of that file's descriptor (closing the duplicate leaves the
            # reader's descriptor alone, so no number is reused under it)
            try:
                fd = os.dup(r.raw._fp.fp.fileno())
            except (AttributeError, OSError, ValueError):
                continue
            dup = socket.socket(fileno=fd)
            try:
                dup.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            finally:
                dup.close()
