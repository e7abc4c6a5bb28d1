"""wrapgen.bind: f2py/pybind11 generation and cached CMake builds."""

from __future__ import annotations

from .errors import BindError

__all__ = ["BindError"]
