"""`python -m wrapgen.bind.run` (also `python -m wrapgen.run`): the worker process that runs kernel calls in isolation.

Started by wrapgen.bind.isolate with one end of a socket pair. It loads the built module, limits its
own address space, then serves calls: ("call", args, kwargs, arrays, new pages, pages to forget, inout keys) ->
("ok", result, returned arrays, new pages, inout arrays, warnings), ("error", exception) or ("declared", class
name, message, code); the arrays travel as wrapgen.bind.shared describes. If the kernel kills the process (STOP,
exit, signal), the parent sees the connection close and reads the exit status and the output this process left in
its log.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import warnings
from multiprocessing.connection import Connection
from typing import Any


def _caller(conn: Connection, ref: object) -> object:
    """A function that runs the caller's callable number ref.index in the caller's process: the arguments go
    over the channel, the result (or the exception it raised) comes back. The generated code around it checks
    what it returns and runs the abort protocol, exactly as for a callable in this process."""
    index = ref.index  # type: ignore[attr-defined]

    def call_back(*args: object) -> object:
        conn.send_bytes(pickle.dumps(("callback", index, args), protocol=5))
        kind, value = pickle.loads(conn.recv_bytes())
        if kind == "raise":
            raise value
        return value

    return call_back


def _send(conn: Connection, message: tuple) -> None:
    conn.send_bytes(pickle.dumps(message, protocol=5))


def main(argv: list[str] | None = None) -> int:
    """Serve isolated calls of one function until the parent closes the connection."""
    ap = argparse.ArgumentParser(prog="python -m wrapgen.bind.run")
    ap.add_argument("--fd", type=int, required=True, help="socket to the parent")
    ap.add_argument("--spec", required=True)
    ap.add_argument("--function", required=True)
    ap.add_argument("--cache", default=None)
    ap.add_argument("--memory", type=int, default=0, help="bytes the call may add to the worker's size (0: no limit)")
    ap.add_argument("--spin", type=float, default=0.0, help="seconds to poll for the next call before sleeping")
    args = ap.parse_args(argv)
    conn = Connection(args.fd)
    try:
        from wrapgen import proc
        from wrapgen.bind import shared
        from wrapgen.bind.loader import load

        module = load(args.spec, cache=args.cache)
        fn = getattr(module, args.function)
        if args.memory:
            # The limit is what the call may add: Python, numpy and the module are already mapped.
            proc.limit_memory(args.memory)
    except BaseException as exc:  # report start-up failures to the parent instead of dying silently
        _send(conn, ("error", exc))
        return 1
    _send(conn, ("ready", os.getpid()))
    mapped: dict[shared.Identity, shared.Pages] = {}  # the caller's pages, kept mapped until it lets them go
    waiter = shared.Waiter(args.fd, args.spin)
    while True:
        try:
            waiter.wait(None)
            message = pickle.loads(conn.recv_bytes())
        except EOFError:
            return 0
        reply, out = _serve(conn, fn, module.__name__, mapped, message)
        conn.send_bytes(reply)
        shared.send_pages(conn, out)
        del reply, out  # the views died with _serve's frame, the new pages go with these: nothing outlives a call


def _serve(conn: Connection, fn: Any, module: str, mapped: dict, message: tuple) -> tuple[bytes, list]:
    """One call: the reply to send and the pages whose descriptors follow it."""
    from wrapgen.bind import shared

    _, call_args, call_kwargs, arrays, new, forget, back = message
    for identity in forget:
        mapped.pop(identity, None)
    mapped.update(shared.receive_pages(conn, len(new)))
    call_args = list(call_args)
    for key, desc in arrays.items():
        if isinstance(key, int):
            call_args[key] = shared.unpack(desc, mapped)
        else:
            call_kwargs[key] = shared.unpack(desc, mapped)
    for i, v in enumerate(call_args):
        if isinstance(v, shared.CallbackRef):
            call_args[i] = _caller(conn, v)
    for k, v in call_kwargs.items():
        if isinstance(v, shared.CallbackRef):
            call_kwargs[k] = _caller(conn, v)
    out: list[shared.Pages] = []
    try:
        with warnings.catch_warnings(record=True) as caught:  # a status row's warning goes to the caller
            warnings.simplefilter("always")
            result = fn(*call_args, **call_kwargs)
        warned = [(w.category.__name__, str(w.message), getattr(w.message, "code", None))
                  if w.category.__module__ == module else w.message for w in caught]
        # Arrays on shared pages were written in place; small inout ones go back in the reply (the caller
        # copies them into its own), returned arrays in the reply or in new pages the caller then owns.
        result, descs, out = shared.returned(result)
        reply: tuple = ("ok", result, descs, len(out), {key: arrays[key][4] for key in back}, warned)
    except BaseException as exc:  # the exception travels to the caller
        if type(exc).__module__ == module:
            # Classes the spec declares live in the generated module, which the caller's
            # process does not import; send the name and rebuild it there.
            reply = ("declared", type(exc).__name__, str(exc), getattr(exc, "code", None))
        else:
            reply = ("error", exc)
    try:
        return pickle.dumps(reply, protocol=5), out
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        return pickle.dumps(("error", RuntimeError(f"{fn.__name__}: the result could not be sent back: {exc}")),
                            protocol=5), []


if __name__ == "__main__":
    sys.stdout.flush()
    raise SystemExit(main())
