"""Every subpackage has its own error class, and all derive from WrapgenError."""

from __future__ import annotations

import importlib

import pytest

from wrapgen import UsageError, WrapgenError


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("wrapgen.spec", "SpecError"),
        ("wrapgen.bind", "BindError"),
        ("wrapgen.gridftp", "GridFTPError"),
        ("wrapgen.gsi", "GSIError"),
        ("wrapgen.wsrf", "WSRFError"),
        ("wrapgen.gram", "GRAMError"),
        ("wrapgen.gram", "RSLError"),
        ("wrapgen.pipeline", "PipelineError"),
        ("wrapgen.checksum", "ChecksumError"),
    ],
)
def test_subpackage_errors_derive_from_wrapgen_error(module: str, name: str) -> None:
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, WrapgenError) and cls is not WrapgenError
    assert cls.__doc__


def test_rsl_errors_are_gram_errors_and_usage_errors_are_wrapgen_errors() -> None:
    from wrapgen.gram import GRAMError, RSLError

    assert issubclass(RSLError, GRAMError)
    assert issubclass(UsageError, WrapgenError)
