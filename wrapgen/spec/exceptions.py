"""Which exception classes a spec may name, in one place for `wrapgen check` and the generated modules.

A spec's `exception:` (error tables) and `exceptions:` (C++ exception map) name a class that generated code
will raise. A name that could resolve to anything would let a spec import any module at load time and make
`raise os.system(message)` run a shell command. So a name is one of: a builtin exception class
(`ValueError`), a new class the spec declares (any other plain identifier), or a class of an allowed package
(`numpy.linalg.LinAlgError`, `wrapgen.bind.runtime.KernelError`); and it must be an exception class.
"""

from __future__ import annotations

import builtins
import importlib
import re
from collections.abc import Mapping

ALLOWED_PACKAGES = ("numpy", "wrapgen")  # dependencies of wrapgen: importing them runs nothing new
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def builtin_exception(name: str) -> type[BaseException] | None:
    """The builtin exception class of that name, or None (also for builtins that are not exceptions)."""
    obj = getattr(builtins, name, None)
    return obj if isinstance(obj, type) and issubclass(obj, BaseException) else None


def problem(name: str) -> str | None:
    """Why `name` cannot be an exception of a spec (None if it can)."""
    if not isinstance(name, str) or not _DOTTED.match(name):
        return f"{name!r} is not an exception class name"
    if "." not in name:
        if hasattr(builtins, name) and builtin_exception(name) is None:
            return f"{name!r} is a builtin but not an exception class"
        return None  # a builtin exception, or a new class the module declares
    package = name.split(".", 1)[0]
    if package not in ALLOWED_PACKAGES:
        return (f"{name!r}: exception classes come from the builtins, the spec itself (a plain name) or the "
                f"packages {', '.join(ALLOWED_PACKAGES)}; not from {package!r}")
    module, _, attr = name.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return f"{name!r} does not exist"
    if not (isinstance(obj, type) and issubclass(obj, BaseException)):
        return f"{name!r} is not an exception class"
    return None


def warning_problem(name: str) -> str | None:
    """Why `name` cannot be a warning class of a spec's status table (None if it can)."""
    why = problem(name)
    if why is not None:
        return why.replace("exception class", "warning class")
    if "." not in name:
        cls = builtin_exception(name)
        return None if cls is None or issubclass(cls, Warning) else f"{name!r} is a builtin exception, not a warning"
    module, _, attr = name.rpartition(".")
    obj = getattr(importlib.import_module(module), attr)
    return None if issubclass(obj, Warning) else f"{name!r} is not a warning class"


def resolve(name: str, local: Mapping[str, type[BaseException]]) -> type[BaseException]:
    """The class a spec names: one the generated module defines, a builtin exception, or an allowed
    package's exception class; ValueError for anything else."""
    if name in local and isinstance(local[name], type) and issubclass(local[name], BaseException):
        return local[name]
    why = problem(name)
    if why is not None:
        raise ValueError(why)
    if "." not in name:
        cls = builtin_exception(name)
        if cls is None:
            raise ValueError(f"{name!r} is neither a builtin exception nor declared by the module")
        return cls
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(module), attr)
