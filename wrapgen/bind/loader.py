"""`load()`: import the module a spec describes, building it first if the cache has no up-to-date build, or
give the isolated form of it (wrapgen.bind.isolate). Here, not in build.py, because the isolated module builds
too: build <- isolate <- loader, with no circle."""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import types
from pathlib import Path
from typing import Any

from ..spec.model import Library
from .build import build
from .errors import BindError


def load(spec: str | os.PathLike[str] | Library, cache: str | os.PathLike[str] | None = None,
         isolate: bool = False) -> types.ModuleType:
    """Import the module for a spec, building it first if the cache has no up-to-date build.

    With isolate=True every call runs in a worker process (see wrapgen.bind.isolate).
    """
    if isolate:
        if isinstance(spec, Library):
            raise BindError("isolate=True needs the spec's file path, so that worker processes can load it")
        from .isolate import IsolatedModule

        return IsolatedModule(spec, cache=cache)
    built = build(spec, cache)
    with _lock_for(built.name):
        return _import(built)


_LOCKS_GUARD = threading.Lock()
_LOCKS: dict[str, threading.Lock] = {}


def _lock_for(name: str) -> threading.Lock:
    # Threads loading one library (a pipeline's steps) must not see each other's half-executed module in
    # sys.modules: one imports, the others wait and get the finished module. Like importlib's own per-module locks.
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(name, threading.Lock())


def _import(built: Any) -> types.ModuleType:
    existing = sys.modules.get(built.name)
    if existing is not None and Path(getattr(existing, "__file__", "")).parent == built.package:
        return existing
    if existing is not None and not getattr(existing, "_wrapgen_built", False):
        # Never replace a module that is not ours (json, numpy, the caller's own): that breaks the process.
        raise BindError(f"library name {built.name!r} is already the name of the imported module "
                        f"{getattr(existing, '__file__', None) or built.name}; give the spec another name")
    # Another build of a library with this name may be loaded (a changed spec): its submodules
    # (the extension) must not be picked up by the new package's relative imports.
    for name in [n for n in sys.modules if n == built.name or n.startswith(built.name + ".")]:
        del sys.modules[name]
    init = built.package / "__init__.py"
    module_spec = importlib.util.spec_from_file_location(built.name, init,
                                                         submodule_search_locations=[str(built.package)])
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[built.name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[built.name]
        raise
    return module
