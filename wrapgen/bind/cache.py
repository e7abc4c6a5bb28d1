"""Where built modules live, and the content hash that decides whether a build is still good."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import subprocess
import sys
from pathlib import Path

from ..spec.model import Library


def cache_root() -> Path:
    """$WRAPGEN_CACHE, else $XDG_CACHE_HOME/wrapgen, else ~/.cache/wrapgen."""
    if env := os.environ.get("WRAPGEN_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "wrapgen"


@functools.lru_cache(maxsize=None)
def tool_version(program: str) -> str:
    """First line of `program --version` (cached per process: compilers do not change under us)."""
    try:
        out = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return f"{program}: unavailable"
    return (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else f"{program}: silent"


def source_paths(lib: Library) -> list[Path]:
    """The library's sources as absolute paths."""
    base = lib.base_dir or Path.cwd()
    return [(base / s).resolve() for s in lib.sources]


def compilers_of(lib: Library) -> list[str]:
    """The compilers a library's build uses (their versions are part of its identity)."""
    return ["gfortran", "cc"] if lib.language == "fortran" else ["cc", "c++"]


def build_key(lib: Library, compilers: list[str]) -> str:
    """Hash of everything a build depends on: spec, sources, compilers, Python, numpy and wrapgen."""
    return _identity(lib, compilers, with_paths=True)


def kernel_identity(lib: Library) -> str:
    """What the built module computes, independent of where it is: build_key without the sources' absolute
    paths (a pipeline step's key must not change when the checkout moves)."""
    return _identity(lib, compilers_of(lib), with_paths=False)


@functools.lru_cache(maxsize=None)
def _numpy_version() -> str:
    # from the installed metadata: importing numpy costs ~0.1 s, and deciding that a pipeline has nothing to do
    # need not import it at all
    from importlib import metadata

    try:
        return metadata.version("numpy")
    except metadata.PackageNotFoundError:
        import numpy

        return numpy.__version__


def _identity(lib: Library, compilers: list[str], with_paths: bool) -> str:
    from .._version import version

    h = hashlib.sha256()
    for part in (version(), sys.version, platform.machine(), _numpy_version(),
                 lib.model_dump_json(), *(tool_version(c) for c in compilers)):
        h.update(part.encode())
        h.update(b"\0")
    for path in source_paths(lib):
        if with_paths:
            h.update(str(path).encode())
        h.update(path.read_bytes())
    # The generators are part of the product: a change to them must rebuild.
    for gen in sorted([*Path(__file__).parent.glob("*.py"), *Path(__file__).parent.glob("include/*")]):
        h.update(gen.read_bytes())
    return h.hexdigest()
