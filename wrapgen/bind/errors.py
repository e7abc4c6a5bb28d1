"""Errors raised by wrapgen.bind."""

from __future__ import annotations

from ..errors import WrapgenError


class BindError(WrapgenError):
    """Generating or compiling a binding failed."""



class IsolatedCallError(BindError):
    """A kernel run in its own process ended that process instead of returning."""


class KernelCrashed(IsolatedCallError):
    """The kernel's process died: on a signal (segmentation fault, abort, ...) or, as KernelExited, by exiting."""


class KernelExited(KernelCrashed):
    """The kernel ended its process itself: a Fortran STOP, exit(), or a runtime error."""


class KernelTimeout(IsolatedCallError):
    """The kernel ran longer than its timeout and was killed."""


class KernelOutOfMemory(IsolatedCallError):
    """The kernel needed more memory than its limit."""
