"""wrapgen.bind: f2py/pybind11 generation and cached CMake builds."""

from __future__ import annotations

from .errors import (BindError, IsolatedCallError, KernelCrashed, KernelExited, KernelOutOfMemory,
                     KernelTimeout)

__all__ = ["BindError", "IsolatedCallError", "KernelCrashed", "KernelExited", "KernelOutOfMemory", "KernelTimeout"]
