"""wrapgen.spec: spec files (YAML) loaded into a typed, validated model."""

from __future__ import annotations

from .errors import SpecError

__all__ = ["SpecError"]
