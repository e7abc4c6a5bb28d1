"""Errors raised by wrapgen.urls."""

from __future__ import annotations

from ..errors import WrapgenError


class TransferError(WrapgenError):
    """A copy, listing or checksum through a URL store failed (every scheme's transfer errors derive from it)."""


class SchemeUnavailable(TransferError):
    """No store serves a URL's scheme, or its store cannot be imported (the message says what to install)."""
