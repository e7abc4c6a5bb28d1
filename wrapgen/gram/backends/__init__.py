"""Job backends, one module each behind `base.Backend` (psij-python's layout), named by dotted strings and imported
only when used."""

from __future__ import annotations

import importlib
import types
from collections.abc import Mapping
from typing import Any

from ..errors import GRAMError
from .base import Backend, Launch, Outcome

BACKENDS: Mapping[str, str] = types.MappingProxyType({
    "fork": "wrapgen.gram.backends.fork:ForkBackend",
    "slurm": "wrapgen.gram.backends.slurm:SlurmBackend",
    "dask": "wrapgen.gram.backends.dask:DaskBackend",
})


def backend(name: str, **options: Any) -> Backend:
    """A backend by name (or "module:Class"), made with its options."""
    dotted = BACKENDS.get(name, name if ":" in name else None)
    if dotted is None:
        raise GRAMError(f"backend {name!r}: expected one of {', '.join(BACKENDS)} or module:Class", code=45)
    module, _, cls = dotted.partition(":")
    try:
        return getattr(importlib.import_module(module), cls)(**options)
    except ImportError as exc:
        raise GRAMError(f"backend {name!r} needs {module}, which cannot be imported ({exc}); 'wrapgen doctor' "
                        "says what is missing", code=45) from None


__all__ = ["BACKENDS", "Backend", "Launch", "Outcome", "backend"]
