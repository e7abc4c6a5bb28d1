"""Errors raised by wrapgen.urls."""

from __future__ import annotations

from ..errors import WrapgenError


class TransferError(WrapgenError):
    """A copy, listing or checksum through a URL store failed (every scheme's transfer errors derive from it).
    `transient` says whether trying again may succeed: true for lost connections and timeouts, and for the replies
    that say so (FTP 4xx, HTTP 5xx/408/429); false for refusals (FTP 5xx such as 550, HTTP 4xx such as 404)."""

    def __init__(self, message: str, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class SchemeUnavailable(TransferError):
    """No store serves a URL's scheme, or its store cannot be imported (the message says what to install)."""
