"""`wrapgen.call(target, function, *args, **kwargs)`: one kernel call, the same signature and the same results
wherever it runs -- in this process (target: a spec file), as a job (fork://, slurm://, dask://HOST:PORT; the
function as SPEC#FUNCTION), or on a published service (an http(s):// URL). Arrays changed in place by the kernel
(inout) are changed in place in every case; a kernel's error is raised as the same exception class."""

from __future__ import annotations

import builtins
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import UsageError

JOB_SCHEMES = ("fork://", "slurm://", "dask://")


def call(target: str | os.PathLike[str], function: str, *args: Any, timeout: float | None = None,
         **kwargs: Any) -> Any:
    """Call function on target; what the local call returns."""
    text = os.fspath(target)
    if text.startswith(JOB_SCHEMES):
        spec, sep, name = function.rpartition("#")
        if not sep:
            raise UsageError(f"call({text!r}, {function!r}): a job needs the spec too: function='SPEC#FUNCTION'")
        return _as_job(text, Path(spec), name, args, kwargs, timeout)
    if text.startswith(("http://", "https://")):
        from ..wsrf.client import connect

        return getattr(connect(text), function)(*args, **kwargs)
    if "://" in text:
        raise UsageError(f"call({text!r}): expected a spec file, fork://, slurm://, dask://HOST:PORT or an "
                         "http(s):// service URL")
    from ..bind.loader import load

    return getattr(load(text), function)(*args, **kwargs)


def _as_job(target: str, spec: Path, function: str, args: tuple[Any, ...], kwargs: dict[str, Any],
            timeout: float | None) -> Any:
    import numpy as np

    from ..bind.wrapper import output_names, python_params, python_returns
    from ..gram.job import JobFailed, submit
    from ..gram.kernel import kernel_job
    from ..spec.load import load_spec

    lib = load_spec(spec)
    fn = lib.functions.get(function)
    if fn is None:
        raise UsageError(f"{spec}: no function {function!r}; the spec has {', '.join(lib.functions)}")
    req, opt = python_params(fn)
    names = req + opt
    if len(args) > len(names):
        raise TypeError(f"{function}() takes {len(names)} arguments, {len(args)} given")
    given = dict(zip(names, args))
    for k, v in kwargs.items():
        if k in given:
            raise TypeError(f"{function}() got multiple values for argument {k!r}")
        given[k] = v
    with tempfile.TemporaryDirectory(prefix="wrapgen-call-") as tmp:
        d = Path(tmp)
        inputs, params = {}, {}
        for k, v in given.items():
            if isinstance(v, np.ndarray):
                np.save(d / f"{k}.npy", v, allow_pickle=False)
                inputs[k] = f"file://{d}/{k}.npy"
            else:
                params[k] = v.item() if isinstance(v, np.generic) else v
        outs = output_names(fn)
        job = kernel_job(spec, function, inputs=inputs, params=params,
                         outputs={n: f"file://{d}/out.{n}" for n in outs})
        running = submit(target, job)
        try:
            running.result(timeout=timeout)
        except JobFailed as exc:
            raise _kernel_error(exc, running, spec) from None
        values: dict[str, Any] = {}
        for n in outs:
            path = d / f"out.{n}"
            if fn.args.get(n) is not None and fn.args[n].shape is not None:
                values[n] = np.load(path, allow_pickle=False)
            else:
                values[n] = json.loads(path.read_text())
    for n in outs:
        if n in given and isinstance(given[n], np.ndarray) and fn.args[n].intent == "inout":
            np.copyto(given[n], values[n])  # in place, as the local call does
    returned = [values[n] for n in python_returns(fn)]
    if not returned:
        return None
    return returned[0] if len(returned) == 1 else tuple(returned)


def _kernel_error(exc: Exception, job: Any, spec: Path) -> BaseException:
    """The job's failure as the exception the local call would raise (from the last line wrapgen.run wrote)."""
    from ..bind.call import last_failure

    try:
        said = last_failure(job.output("stderr").decode(errors="replace"))
    except Exception:  # noqa: BLE001 - no stderr to read: the failure itself says it
        return exc
    if said is None:
        return exc
    name, _, message = said.partition(": ")
    cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        from ..bind.loader import load

        cls = getattr(load(spec), name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(message)
        except TypeError:
            return exc
    return exc
