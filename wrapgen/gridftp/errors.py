"""Errors raised by wrapgen.gridftp."""

from __future__ import annotations

from ..urls.errors import TransferError


class GridFTPError(TransferError):
    """A GridFTP protocol, transfer or server error (a TransferError, as every URL store's are)."""

