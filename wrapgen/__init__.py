"""wrapgen: legacy Fortran/C/C++ kernels as Python modules, grid services, GRAM jobs and pipeline steps."""

from __future__ import annotations

from importlib import metadata as _metadata

from .errors import UsageError, WrapgenError

try:
    __version__ = _metadata.version("wrapgen")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["UsageError", "WrapgenError", "__version__"]
