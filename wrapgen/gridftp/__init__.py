"""wrapgen.gridftp: GridFTP server, client and url-copy."""

from __future__ import annotations

from .errors import GridFTPError

__all__ = ["GridFTPError"]
