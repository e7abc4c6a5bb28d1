"""wrapgen.pipeline: stage-in, compute, stage-out pipelines with restart and resume."""

from __future__ import annotations

from .errors import PipelineError

__all__ = ["PipelineError"]
