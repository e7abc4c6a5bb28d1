"""Errors raised by wrapgen.bind."""

from __future__ import annotations

from ..errors import WrapgenError


class BindError(WrapgenError):
    """Generating or compiling a binding failed."""

