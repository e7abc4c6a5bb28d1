"""wrapgen's version, read from the installed metadata when first asked for (importlib.metadata costs ~30 ms
of import time). A module of its own so that lower layers (the build cache key) need not import the package's
one-call API."""

from __future__ import annotations

import functools


@functools.cache
def version() -> str:
    """The installed wrapgen version ('0+unknown' for a source tree that was never installed)."""
    from importlib import metadata

    try:
        return metadata.version("wrapgen")
    except metadata.PackageNotFoundError:
        return "0+unknown"
