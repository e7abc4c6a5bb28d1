"""Errors raised by wrapgen.gsi."""

from __future__ import annotations

from ..errors import WrapgenError


class GSIError(WrapgenError):
    """A certificate, proxy, grid-mapfile or TLS problem."""



class NotAuthorized(GSIError):
    """A verified identity that the grid-mapfile does not allow. str() names the file for the server's log;
    `public` is what the client is told (no server paths, no other accounts)."""

    def __init__(self, message: str, public: str) -> None:
        super().__init__(message)
        self.public = public
