"""wrapgen.spec: spec files (YAML) loaded into a typed, validated model."""

from __future__ import annotations

from .errors import SpecError, SpecIssue
from .load import load_spec, parse_spec
from .model import Arg, Callback, Class, ErrorCode, Errors, Function, Library, Resources

__all__ = ["Arg", "Callback", "Class", "ErrorCode", "Errors", "Function", "Library", "Resources", "SpecError",
           "SpecIssue", "load_spec", "parse_spec"]
