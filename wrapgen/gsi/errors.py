"""Errors raised by wrapgen.gsi."""

from __future__ import annotations

from ..errors import WrapgenError


class GSIError(WrapgenError):
    """A certificate, proxy, grid-mapfile or TLS problem."""

