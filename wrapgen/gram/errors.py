"""Errors raised by wrapgen.gram."""

from __future__ import annotations

from ..errors import WrapgenError


class GRAMError(WrapgenError):
    """A job submission or job state error."""


class RSLError(GRAMError):
    """An RSL job description that does not parse; the message names the position and what was expected."""
