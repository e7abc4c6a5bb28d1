"""wrapgen.wsrf: WS-RF grid services over SOAP."""

from __future__ import annotations

from .errors import WSRFError

__all__ = ["WSRFError"]
