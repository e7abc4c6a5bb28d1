"""wrapgen: legacy Fortran/C/C++ kernels as Python modules, grid services, GRAM jobs and pipeline steps."""

from __future__ import annotations

from .errors import UsageError, WrapgenError

__all__ = ["UsageError", "WrapgenError", "__version__"]


def __getattr__(name: str) -> str:
    # importlib.metadata costs ~30 ms of import time; only pay it when the version is asked for.
    if name == "__version__":
        from importlib import metadata

        try:
            return metadata.version("wrapgen")
        except metadata.PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'wrapgen' has no attribute {name!r}")
