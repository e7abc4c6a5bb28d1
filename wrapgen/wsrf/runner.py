"""Run one WS-Resource's computation outside the server: `python -m wrapgen.wsrf.runner --state DB --key K --spec S`.

The fallback when no executor (wrapgen.wsrf.executor) runs beside the server: started by Start with
--detach (it forks and the starter returns at once), in its own session so Cancel and Destroy can stop
it and the kernel's worker with one killpg. The kernel itself runs in an isolated
worker process (wrapgen.bind.isolate), so a crash, STOP, hang or memory blow-up becomes a Failed status
with the cause, and the state in SQLite is written only by this process and the server.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .store import Store

if TYPE_CHECKING:
    from .model import Operation


def launch(state: Path, key: str, spec: Path, cache: str | None, log: Path) -> None:
    """Start a detached runner for a resource and return once it has forked away."""
    # --key=K: a key may start with '-' (urlsafe base64), which argparse would take for an option.
    cmd = [sys.executable, "-P", "-m", "wrapgen.wsrf.runner", "--state", str(state), f"--key={key}",
           "--spec", str(spec), "--detach"]
    if cache:
        cmd += ["--cache", cache]
    with open(log, "ab") as out:
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=True,
                       start_new_session=True)


Outcome = dict[str, Any]  # the keyword arguments of Store.finish: status, result | error, exception, error_code


def outcome(fn: Callable[..., Any], params: dict[str, Any], op: Operation) -> Outcome:
    """Call fn with the parameters: Succeeded with the outputs, or Failed with why."""
    from ..bind.errors import IsolatedCallError
    from ..bind.runtime import KernelError

    try:
        returned = fn(**params)
        return {"status": "Succeeded", "result": op.collect(returned, params)}
    except KernelError as exc:
        return {"status": "Failed", "error": str(exc), "exception": type(exc).__name__,
                "error_code": None if exc.code is None else str(exc.code)}
    except IsolatedCallError as exc:
        return {"status": "Failed", "error": str(exc), "exception": type(exc).__name__}
    except Exception as exc:  # anything else is still this resource's failure, not the runner's crash
        return {"status": "Failed", "error": f"{type(exc).__name__}: {exc}", "exception": type(exc).__name__}


def compute(store: Store, key: str, fn: Callable[..., Any], op: Operation,
            keep: Callable[[Outcome], None] | None = None, res: Any = None) -> None:
    """Compute a Running resource and record the outcome. When the store cannot take it (a full disk, an I/O
    error), the outcome goes to keep() to be recorded later, instead of being lost; without keep, it is
    retried here until it is recorded. res: the resource as the caller already read it (a child forked by the
    executor computes without reading the store, which may be failing by then)."""
    res = res if res is not None else store.get(key)
    if res is None or res.status != "Running":
        return
    result = outcome(fn, dict(res.params), op)
    if keep is None:
        record_until_done(store, key, result)
        return
    try:
        store.finish(key, **result)
    except (sqlite3.Error, OSError):
        keep(result)


def record_until_done(store: Store, key: str, result: Outcome, give_up_after: float = 24 * 3600.0) -> bool:
    """store.finish, retried with backoff while the store fails (a full disk frees up); False if it never took."""
    delay, deadline = 0.5, time.monotonic() + give_up_after
    while True:
        try:
            store.finish(key, **result)
            return True
        except (sqlite3.Error, OSError) as exc:
            if time.monotonic() > deadline:
                return False
            print(f"wrapgen: cannot record the outcome of {key} yet ({exc}); retrying", file=sys.stderr, flush=True)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


def run(state: Path, key: str, spec: Path, cache: str | None) -> int:
    """Compute the resource's function (in an isolated worker) and record the outcome."""
    from ..bind.isolate import IsolatedModule
    from .model import service_model

    store = Store(state)
    store.set_pid(key, os.getpid())
    res = store.get(key)
    if res is None or res.status != "Running":
        return 0
    try:
        op = service_model(spec).operations[res.function]
        with IsolatedModule(spec, cache=cache) as mod:
            compute(store, key, getattr(mod, op.name), op)
    except Exception as exc:  # the spec or the build went wrong since the server started
        store.finish(key, "Failed", error=f"{type(exc).__name__}: {exc}", exception=type(exc).__name__)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the runner process."""
    p = argparse.ArgumentParser(prog="python -m wrapgen.wsrf.runner")
    p.add_argument("--state", type=Path, required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--spec", type=Path, required=True)
    p.add_argument("--cache", default=None)
    p.add_argument("--detach", action="store_true", help="fork, and let the parent return at once")
    a = p.parse_args(argv)
    if a.detach and os.fork() > 0:
        os._exit(0)  # the server's worker reaps this parent at once; the child is reparented to init
    return run(a.state, a.key, a.spec, a.cache)


if __name__ == "__main__":
    sys.exit(main())
