"""Errors raised by wrapgen.gridftp."""

from __future__ import annotations

from ..errors import WrapgenError


class GridFTPError(WrapgenError):
    """A GridFTP protocol, transfer or server error."""

