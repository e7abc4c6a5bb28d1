"""`python -m wrapgen.run`: the worker process that runs kernel calls in isolation.

Started by wrapgen.bind.isolate with one end of a socket pair. It loads the built module, limits its
own address space, then serves calls: ("call", args, kwargs) -> ("ok", result, inout arrays) or
("error", exception). If the kernel kills the process (STOP, exit, signal), the parent sees the
connection close and reads the exit status and the output this process left in its log.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import sys
from multiprocessing.connection import Connection


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def main(argv: list[str] | None = None) -> int:
    """Serve isolated calls of one function until the parent closes the connection."""
    ap = argparse.ArgumentParser(prog="python -m wrapgen.run")
    ap.add_argument("--fd", type=int, required=True, help="socket to the parent")
    ap.add_argument("--spec", required=True)
    ap.add_argument("--function", required=True)
    ap.add_argument("--cache", default=None)
    ap.add_argument("--memory", type=int, default=0, help="bytes the call may add to the worker's size (0: no limit)")
    args = ap.parse_args(argv)
    conn = Connection(args.fd)
    try:
        from wrapgen.bind.build import load
        from wrapgen.bind.wrapper import python_params
        from wrapgen.spec import load_spec

        module = load(args.spec, cache=args.cache)
        fn_spec = load_spec(args.spec).functions[args.function]
        fn = getattr(module, args.function)
        required, optional = python_params(fn_spec)
        inout = [n for n in required + optional if fn_spec.args[n].intent == "inout" and fn_spec.args[n].is_array]
        if args.memory:
            # The limit is what the call may add: Python, numpy and the module are already mapped.
            limit = _vm_size() + args.memory
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except BaseException as exc:  # report start-up failures to the parent instead of dying silently
        conn.send(("error", exc))
        return 1
    conn.send(("ready", os.getpid()))
    names = required + optional
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return 0
        _, call_args, call_kwargs = message
        try:
            result = fn(*call_args, **call_kwargs)
            bound = dict(zip(names, call_args)) | call_kwargs
            reply = ("ok", result, {n: bound[n] for n in inout if n in bound})
        except BaseException as exc:  # the exception travels to the caller
            if type(exc).__module__ == module.__name__:
                # Classes the spec declares live in the generated module, which the caller's
                # process does not import; send the name and rebuild it there.
                reply = ("declared", type(exc).__name__, str(exc), getattr(exc, "code", None))
            else:
                reply = ("error", exc)
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            conn.send(("error", RuntimeError(f"{args.function}: the result could not be sent back: {exc}")))


if __name__ == "__main__":
    sys.stdout.flush()
    raise SystemExit(main())
