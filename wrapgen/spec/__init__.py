"""wrapgen.spec: spec files (YAML) loaded into a typed, validated model."""

from __future__ import annotations

from typing import Any

from .errors import SpecError, SpecIssue

__all__ = ["Arg", "Callback", "Class", "ErrorCode", "Errors", "Function", "Library", "Resources", "SpecError",
           "SpecIssue", "load_spec", "parse_spec"]

_LAZY = {"load_spec": "load", "parse_spec": "load", "Arg": "model", "Callback": "model", "Class": "model",
         "ErrorCode": "model", "Errors": "model", "Function": "model", "Library": "model", "Resources": "model"}


def __getattr__(name: str) -> Any:
    # Generated modules import wrapgen.spec.expr at run time; they must not pay for pydantic and PyYAML.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
