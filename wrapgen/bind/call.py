"""One kernel call from files, as a job runs it: `python -m wrapgen.run SPEC FUNCTION --input NAME=FILE
--param NAME=VALUE --output NAME=FILE` in the job directory. Arrays travel as .npy files (never pickles), scalars
as JSON; every output the function gives (its returns and its inout arrays) can be written to a file."""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import UsageError


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"{what} {item!r}: expected NAME=VALUE")
        if name in out:
            raise UsageError(f"{what} {name} is given twice")
        out[name] = value
    return out


@functools.lru_cache(maxsize=32)
def _spec(path: str, mtime_ns: int, size: int) -> Any:
    """The spec model, read once per version of the file (a Dask worker runs many calls of one spec)."""
    from ..spec.load import load_spec

    return load_spec(path)


def call_from_files(spec: str | os.PathLike[str], function: str, inputs: dict[str, str], params: dict[str, str],
                    outputs: dict[str, str], isolate: bool = False, module: Any = None) -> dict[str, Any]:
    """Call function with arrays/scalars read from files and params; write the outputs named; all the outputs.
    module: the spec's module if the caller has it loaded already (else it is loaded, building if needed)."""
    from .loader import load

    lib, fn, kwargs = read_arguments(spec, function, inputs, params)
    if module is None:
        module = load(spec, isolate=isolate)
    values = gathered(fn, getattr(module, function)(**kwargs), kwargs)
    write_values(function, values, outputs)
    return values


def read_arguments(spec: str | os.PathLike[str], function: str, inputs: dict[str, str | bytes],
                   params: dict[str, str]) -> tuple[Any, Any, dict[str, Any]]:
    """(library, function model, keyword arguments) for a call whose inputs are files or their bytes (.npy for
    arrays, JSON for scalars) and whose params are JSON texts; UsageError for a name the function does not take or
    one missing."""
    import numpy as np

    from .wrapper import python_params

    st = os.stat(spec)
    lib = _spec(os.path.abspath(spec), st.st_mtime_ns, st.st_size)
    fn = lib.functions.get(function)
    if fn is None:
        raise UsageError(f"{spec}: no function {function!r}; the spec has {', '.join(lib.functions) or 'none'}")
    req, opt = python_params(fn)
    accepted = set(req) | set(opt)
    kwargs: dict[str, Any] = {}
    for name, path in inputs.items():
        if name not in accepted:
            raise UsageError(f"--input {name}: {function} takes {', '.join(req + opt)}")
        if fn.args[name].shape is not None:
            with io.BytesIO(path) if isinstance(path, bytes) else open(path, "rb") as f:
                a = np.load(f, allow_pickle=False)
            # this array is the job's own copy: lay it out as the kernel wants (an inout array is written back)
            kwargs[name] = np.asfortranarray(a) if lib.language.startswith("fortran") else np.ascontiguousarray(a)
        else:
            kwargs[name] = json.loads(path if isinstance(path, bytes) else Path(path).read_bytes())
    for name, text in params.items():
        if name not in accepted:
            raise UsageError(f"--param {name}: {function} takes {', '.join(req + opt)}")
        if name in kwargs:
            raise UsageError(f"{name} is given both as --input and --param")
        try:
            kwargs[name] = json.loads(text)
        except json.JSONDecodeError:
            kwargs[name] = text  # a bare string
    missing = [n for n in req if n not in kwargs]
    if missing:
        raise UsageError(f"{function} needs {', '.join(missing)} (as --input NAME=FILE or --param NAME=VALUE)")
    return lib, fn, kwargs


def gathered(fn: Any, returned: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Every output of a call by name: what it returned, and its inout arguments (changed in place)."""
    from .wrapper import output_names, python_returns

    names = python_returns(fn)
    values: dict[str, Any] = {}
    if len(names) == 1:
        values[names[0]] = returned
    elif names:
        values.update(zip(names, returned))
    for name in output_names(fn)[len(names):]:
        if name in kwargs:
            values[name] = kwargs[name]
    return values


def encode(value: Any) -> bytes:
    """An output as its file holds it: an array as .npy (never a pickle), a scalar as a JSON line. The bytes are a
    function of the value alone, so equal results have equal digests."""
    import numpy as np

    if isinstance(value, np.ndarray):
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return buf.getvalue()
    return (json.dumps(value.item() if isinstance(value, np.generic) else value) + "\n").encode()


def write_values(function: str, values: dict[str, Any], outputs: dict[str, str]) -> None:
    """Write the outputs named (NAME -> file): arrays as .npy (never pickles), scalars as JSON."""
    import numpy as np

    for name, path in outputs.items():
        if name not in values:
            raise UsageError(f"--output {name}: {function} gives {', '.join(values) or 'nothing'}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        v = values[name]
        if isinstance(v, np.ndarray):  # streamed: no second copy of a large array in memory
            with open(path, "wb") as f:
                np.save(f, v, allow_pickle=False)
        else:
            Path(path).write_bytes(encode(v))


#: How a kernel job says why it failed, as the last such line of its stderr (read back by job runners).
FAILURE = "python -m wrapgen.run: "


def failure_line(exc: BaseException) -> str:
    """The stderr line a kernel job writes when its call raised exc: the exception's class and message."""
    return f"{FAILURE}{type(exc).__name__}: {exc}"


def last_failure(stderr: str) -> str | None:
    """From a kernel job's stderr, what its last failure line said ('ValueError: ...'), None if it wrote none."""
    said = [ln.removeprefix(FAILURE) for ln in stderr.splitlines() if ln.startswith(FAILURE)]
    return said[-1] if said else None


def parser() -> argparse.ArgumentParser:
    """The command line of a kernel job (`python -m wrapgen.run SPEC FUNCTION ...`)."""
    ap = argparse.ArgumentParser(prog="python -m wrapgen.run", description="call one kernel function with inputs "
                                 "from files and write its outputs to files (what a kernel job runs)")
    ap.add_argument("spec")
    ap.add_argument("function")
    ap.add_argument("--input", action="append", default=[], metavar="NAME=FILE", help=".npy for arrays, JSON else")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a scalar (JSON)")
    ap.add_argument("--output", action="append", default=[], metavar="NAME=FILE")
    ap.add_argument("--isolate", action="store_true", help="run the call in an isolated worker")
    return ap


def run(argv: list[str], directory: Path | None = None, err: Any = None) -> int:
    """Parse a kernel job's arguments (paths relative to directory, if given), make the call; the exit status,
    with what went wrong written to err (stderr by default)."""
    from ..errors import WrapgenError

    err = err or sys.stderr
    args = parser().parse_args(argv)
    here = directory or Path()
    try:
        files = {w: {k: str(here / v) for k, v in _pairs(items, w).items()}
                 for w, items in (("--input", args.input), ("--output", args.output))}
        call_from_files(str(here / args.spec), args.function, files["--input"], _pairs(args.param, "--param"),
                        files["--output"], args.isolate)
    except UsageError as exc:
        print(f"{FAILURE}error: {exc}", file=err)
        return 2
    except (WrapgenError, ValueError, TypeError, ArithmeticError, OSError) as exc:  # the kernel's refusals too
        print(failure_line(exc), file=err)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """The command line of a kernel job."""
    return run(sys.argv[1:] if argv is None else argv)
