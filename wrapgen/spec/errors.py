"""Errors raised by wrapgen.spec."""

from __future__ import annotations

from ..errors import WrapgenError


class SpecError(WrapgenError):
    """A spec file that does not validate; the message names file:line:column and the field."""

