"""wrapgen.gridftp: GridFTP server, client and url-copy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import GridFTPError

if TYPE_CHECKING:
    from .client import Client, transfer
    from .server import Server

__all__ = ["Client", "GridFTPError", "Server", "transfer"]


def __getattr__(name: str):
    # Client and Server load on first use: `wrapgen` commands import this package without needing them.
    if name in ("Client", "transfer"):
        from . import client

        return getattr(client, name)
    if name == "Server":
        from .server import Server

        return Server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
