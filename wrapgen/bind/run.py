"""`python -m wrapgen.bind.run` (also `python -m wrapgen.run`): the worker process that runs kernel calls in isolation.

Started by wrapgen.bind.isolate with one end of a socket pair. It loads the built module, limits its
own address space, then serves calls: ("call", args, kwargs) -> ("ok", result, inout arrays) or
("error", exception). If the kernel kills the process (STOP, exit, signal), the parent sees the
connection close and reads the exit status and the output this process left in its log.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import warnings
from multiprocessing.connection import Connection


def _caller(conn: Connection, ref: object) -> object:
    """A function that runs the caller's callable number ref.index in the caller's process: the arguments go
    over the channel, the result (or the exception it raised) comes back. The generated code around it checks
    what it returns and runs the abort protocol, exactly as for a callable in this process."""
    index = ref.index  # type: ignore[attr-defined]

    def call_back(*args: object) -> object:
        conn.send(("callback", index, args))
        kind, value = conn.recv()
        if kind == "raise":
            raise value
        return value

    return call_back


def main(argv: list[str] | None = None) -> int:
    """Serve isolated calls of one function until the parent closes the connection."""
    ap = argparse.ArgumentParser(prog="python -m wrapgen.bind.run")
    ap.add_argument("--fd", type=int, required=True, help="socket to the parent")
    ap.add_argument("--spec", required=True)
    ap.add_argument("--function", required=True)
    ap.add_argument("--cache", default=None)
    ap.add_argument("--memory", type=int, default=0, help="bytes the call may add to the worker's size (0: no limit)")
    args = ap.parse_args(argv)
    conn = Connection(args.fd)
    try:
        import numpy as np

        from wrapgen import proc
        from wrapgen.bind import shared
        from wrapgen.bind.loader import load

        module = load(args.spec, cache=args.cache)
        fn = getattr(module, args.function)
        if args.memory:
            # The limit is what the call may add: Python, numpy and the module are already mapped.
            proc.limit_memory(args.memory)
    except BaseException as exc:  # report start-up failures to the parent instead of dying silently
        conn.send(("error", exc))
        return 1
    conn.send(("ready", os.getpid()))
    mappings = shared.MappingCache()
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return 0
        _, call_args, call_kwargs, stand_ins = message
        segments = mappings.receive(conn, stand_ins)
        arrays = {s.index: seg.array for s, seg in zip(stand_ins, segments)}
        call_args = shared.replace(call_args, lambda v: arrays[v.index] if isinstance(v, shared.SharedArray) else v)
        call_kwargs = shared.replace(call_kwargs, lambda v: arrays[v.index] if isinstance(v, shared.SharedArray)
                                     else v)
        call_args = tuple(_caller(conn, v) if isinstance(v, shared.CallbackRef) else v for v in call_args)
        call_kwargs = {k: _caller(conn, v) if isinstance(v, shared.CallbackRef) else v for k, v in call_kwargs.items()}
        out_segments: list[shared.Segment] = []
        try:
            with warnings.catch_warnings(record=True) as caught:  # a status row's warning goes to the caller
                warnings.simplefilter("always")
                result = fn(*call_args, **call_kwargs)
            warned = [(w.category.__name__, str(w.message), getattr(w.message, "code", None))
                      if w.category.__module__ == module.__name__ else w.message for w in caught]
            # inout arrays were updated in the shared pages; returned arrays go back the same way.

            def export(value):
                if shared.shareable(value):
                    stand_in, seg = shared.export(value, len(out_segments))
                    out_segments.append(seg)
                    return stand_in
                return value

            # Arrays that came pickled (small ones) go back the same way; the caller keeps the inout ones.
            small = {key: value for key, value in [*enumerate(call_args), *call_kwargs.items()]
                     if isinstance(value, np.ndarray) and not any(value is seg.array for seg in segments)}
            reply = ("ok", shared.replace(result, export), len(out_segments), small, warned)
        except BaseException as exc:  # the exception travels to the caller
            if type(exc).__module__ == module.__name__:
                # Classes the spec declares live in the generated module, which the caller's
                # process does not import; send the name and rebuild it there.
                reply = ("declared", type(exc).__name__, str(exc), getattr(exc, "code", None))
            else:
                reply = ("error", exc)
        try:
            conn.send(reply)
            shared.send_segments(conn, out_segments, os.getppid())
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            conn.send(("error", RuntimeError(f"{args.function}: the result could not be sent back: {exc}")))
        finally:
            del call_args, call_kwargs, arrays
            for seg in segments:
                seg.array = None  # the mapping stays cached for the next call
            for seg in out_segments:
                seg.close()


if __name__ == "__main__":
    sys.stdout.flush()
    raise SystemExit(main())
