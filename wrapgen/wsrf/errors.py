"""Errors raised by wrapgen.wsrf."""

from __future__ import annotations

from ..errors import WrapgenError


class WSRFError(WrapgenError):
    """A WS-RF service or client error."""

