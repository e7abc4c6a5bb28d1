"""wrapgen.gram: RSL job descriptions, the GRAM job state machine and backends."""

from __future__ import annotations

from .errors import GRAMError, RSLError

__all__ = ["GRAMError", "RSLError"]
