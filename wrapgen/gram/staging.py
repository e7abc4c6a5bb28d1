"""Staging a job's files in and out through wrapgen.urls (file, ftp/gsiftp, http(s)): checksum-verified where both
ends can checksum, retried with resume, relative paths relative to the job directory, and stoppable from another
thread (a cancel during STAGE_IN ends the transfer in progress, not only the ones after it)."""

from __future__ import annotations

import threading
from pathlib import Path

from ..urls.copy import copy_all
from ..urls.errors import TransferError
from ..urls.registry import Stores
from ..urls.settings import CopySettings
from ..urls.url import Url, parse_url
from .errors import GRAMError

SETTINGS = CopySettings(verify=True, mkdirs=True, quiet=True, restart=True, retries=2)


def local(directory: Path, path: str) -> Url:
    """A job-relative (or absolute) path as a file URL."""
    p = Path(path)
    full = p if p.is_absolute() else directory / p
    return Url("file", "", 0, "", "", str(full), f"file://{full}")


class Staging:
    """One job's transfers; abort() from another thread stops them."""

    def __init__(self, settings: CopySettings = SETTINGS) -> None:
        self.settings = settings
        self._stores: Stores | None = None
        self._lock = threading.Lock()
        self._aborted = False

    def run(self, pairs: list[tuple[Url, Url]], code: int, what: str) -> None:
        """Copy every (source, destination) pair; GRAMError(code) naming the file and why if one fails."""
        with self._lock:
            if self._aborted:
                raise GRAMError(f"{what} cancelled", code=8)
            self._stores = Stores(self.settings)
        try:
            for src, dst in pairs:
                try:
                    copy_all(self._stores, [(src, dst)])
                except Exception as exc:  # a UsageError (a URL the stores cannot serve) is the job's fault too
                    if self._aborted:
                        raise GRAMError(f"{what} cancelled while copying {src.text}", code=8) from None
                    # a TransferError's message names both URLs already
                    detail = exc if isinstance(exc, TransferError) else f"{src.text} -> {dst.text}: {exc}"
                    raise GRAMError(f"{what}: {detail}", code=code) from None
        finally:
            with self._lock:
                stores, self._stores = self._stores, None
            if stores is not None:
                stores.close()

    def abort(self) -> None:
        """Stop the transfers (now and to come)."""
        with self._lock:
            self._aborted = True
            stores = self._stores
        if stores is not None:
            stores.abort()


def stage_in(staging: Staging, pairs: list[tuple[str, str]], directory: Path) -> None:
    """file_stage_in: (URL, path) pairs, before the job is PENDING (GRAM 135 on failure)."""
    staging.run([(_parse(u, 141), local(directory, p)) for u, p in pairs], 135, "stage-in")


def stage_out(staging: Staging, pairs: list[tuple[str, str]], directory: Path) -> None:
    """file_stage_out: (path, URL) pairs, after the job (GRAM 155 on failure; the job is then FAILED, not DONE)."""
    staging.run([(local(directory, p), _parse(u, 143)) for p, u in pairs], 155, "stage-out")


def _parse(url: str, code: int) -> Url:
    if url.startswith("/"):  # a path on this machine
        return Url("file", "", 0, "", "", url, f"file://{url}")
    try:
        return parse_url(url)
    except Exception as exc:
        raise GRAMError(f"{url}: {exc}", code=code) from None
