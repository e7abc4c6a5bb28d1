"""Errors raised by wrapgen.pipeline."""

from __future__ import annotations

from ..errors import WrapgenError


class PipelineError(WrapgenError):
    """A stage-compute-retrieve pipeline error."""

