"""wrapgen: legacy Fortran/C/C++ kernels as Python modules, grid services, GRAM jobs and pipeline steps."""

from __future__ import annotations

import os

from .errors import UsageError, WrapgenError

TYPE_CHECKING = False  # typing itself costs ~10 ms of every command's start-up
if TYPE_CHECKING:
    import types
    from typing import Any

__all__ = ["IsolatedCallError", "KernelCrashed", "KernelError", "KernelExited", "KernelOutOfMemory", "KernelTimeout",
           "UsageError", "WrapgenError", "__version__", "call", "connect", "copy", "load", "run", "shared_array",
           "shared_zeros", "submit"]

#: The kernel errors, one hierarchy for local, isolated and served calls (imported when first named: wrapgen.bind's
#: runtime needs numpy). A served kernel's STOP raises a class deriving from wrapgen.KernelExited too.
_ERRORS = {"KernelError": "wrapgen.bind.runtime", "IsolatedCallError": "wrapgen.bind.errors",
           "KernelCrashed": "wrapgen.bind.errors", "KernelExited": "wrapgen.bind.errors",
           "KernelTimeout": "wrapgen.bind.errors", "KernelOutOfMemory": "wrapgen.bind.errors"}


def load(spec: str | os.PathLike[str], isolate: bool = False) -> types.ModuleType:
    """Import the module a spec file describes, building it first if needed (the one-call API).

    isolate=True runs every call in a worker process with the spec's limits: a crash, STOP,
    hang or memory blow-up in the kernel then raises an exception instead of ending Python.
    """
    from .bind.loader import load as _load

    return _load(spec, isolate=isolate)


def shared_zeros(shape: int | tuple[int, ...], dtype: Any = float, order: str = "C") -> Any:
    """A zero-filled numpy array in shared memory: an isolated call (load(..., isolate=True), services) hands it to
    its kernel without copying, and the kernel writes an inout one in place."""
    from .bind.shared import zeros

    return zeros(shape, dtype, order)


def shared_array(value: Any, dtype: Any = None, order: str = "K") -> Any:
    """A copy of value (anything numpy.asarray takes) in shared memory, like shared_zeros."""
    from .bind.shared import array

    return array(value, dtype, order)


def connect(url: str, timeout: float = 300.0, cert: str | tuple[str, str] | None = None,
            verify: str | bool | None = None) -> Any:
    """A served library (http(s)://host:port/<library>) as a Python object with the kernel's functions."""
    from .wsrf.client import connect as _connect

    return _connect(url, timeout, cert, verify)


def copy(src: str, dst: str, **options: Any) -> Any:
    """Copy between file://, ftp://, gsiftp:// and http(s):// URLs, third party included (the one-call API
    for data). Options are wrapgen.urls.settings.CopySettings' fields (parallel, recursive, mkdirs, verify,
    checksum, concurrency, dcau, delegate, private, tcp_buffer, ...; or settings=CopySettings(...)), and:
    sync=0..3 copies only what the destination lacks (url-copy's -sync-level), retries=N retries a failed
    file N times, resuming after the part already copied. Returns Copied(files, bytes, seconds)."""
    from .urls.copy import copy as _copy

    if "sync" in options and not isinstance(options["sync"], bool):
        level = options.pop("sync")
        if level is not None:
            options.update(sync=True, sync_level=level)
    if "retries" in options and "restart" not in options:
        options["restart"] = options["retries"] > 0
    if "settings" not in options:
        options.setdefault("quiet", True)
    return _copy(src, dst, **options)


def submit(target: str, job: Any, **options: Any) -> Any:
    """Run a job (an argv list, RSL text or a wrapgen.gram.JobDescription) on fork://, slurm://, dask://HOST:PORT
    or a job manager's http(s):// URL; returns a concurrent.futures.Future-compatible Job whose result() is the
    final record once the job is DONE (stage-out included); a FAILED job raises wrapgen.gram.job.JobFailed."""
    from .gram.job import submit as _submit

    return _submit(target, job, **options)


def call(target: str | os.PathLike[str], function: str, *args: Any, **kwargs: Any) -> Any:
    """One kernel call with the local call's signature and results, wherever it runs: target a spec file (in this
    process), fork://, slurm:// or dask://HOST:PORT (a job; function as 'SPEC#FUNCTION') or a published
    service's http(s):// URL. inout arrays are updated in place and kernel errors raise the same classes."""
    from .pipeline.call import call as _call

    return _call(target, function, *args, **kwargs)


def run(pipeline: str | os.PathLike[str], **options: Any) -> Any:
    """Run a pipeline file (stage in, compute, stage out): what is up to date stays, what changed runs, a killed
    run resumes. Options: state (directory), workers. Returns a RunResult (ok, counts(), table(), output())."""
    from .pipeline.engine import run as _run

    return _run(pipeline, **options)


def __getattr__(name: str) -> Any:
    # importlib.metadata costs ~30 ms of import time; only pay it when the version is asked for.
    if name == "__version__":
        from ._version import version

        return version()
    if name in _ERRORS:
        import importlib

        return getattr(importlib.import_module(_ERRORS[name]), name)
    raise AttributeError(f"module 'wrapgen' has no attribute {name!r}")
