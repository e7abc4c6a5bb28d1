"""Errors raised by wrapgen.web."""

from __future__ import annotations

from ..errors import WrapgenError


class EditorError(WrapgenError):
    """An editor request that cannot be served; the message says what was expected."""
