"""http:// and https:// URLs, as sources (requests; certificates verified by default)."""

from __future__ import annotations

import email.utils
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import TransferError
from .store import Stat, Store

if TYPE_CHECKING:
    from .url import Url


class HTTPStore(Store):
    """Web servers: read whole files; no listing, writing, checksums or offsets."""

    schemes = ("http", "https")
    label = "http(s)"
    can_write = can_list = can_resume = can_checksum = False

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
            raise TransferError(f"{url.text}: HTTP {r.status_code} {r.reason}")
        modified = r.headers.get("Last-Modified")
        mtime = email.utils.parsedate_to_datetime(modified).timestamp() if modified else 0.0
        return Stat(int(r.headers.get("Content-Length", 0)), mtime)

    def download(self, url: Url, local: Path, offset: int = 0, length: int | None = None,
                 progress: Any = None) -> int:
        """GET the whole body into local."""
        import requests

        if offset or length is not None:
            raise TransferError(f"{url.text}: partial copies (-off/-len) are not supported for http(s) sources")
        try:
            with requests.get(url.text, stream=True, timeout=self.settings.http_timeout) as r:
                if r.status_code != 200:
                    raise TransferError(f"{url.text}: HTTP {r.status_code} {r.reason}")
                with open(local, "wb") as f:
                    shutil.copyfileobj(r.raw, f, 4 << 20)
        except requests.RequestException as exc:
            raise TransferError(f"{url.text}: {exc}") from None
        return local.stat().st_size
