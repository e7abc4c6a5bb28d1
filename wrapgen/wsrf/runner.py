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
import subprocess
import sys
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


def compute(store: Store, key: str, fn: Callable[..., Any], op: Operation) -> None:
    """Call fn with the resource's parameters and record Succeeded with the outputs, or Failed with why."""
    from ..bind.errors import IsolatedCallError
    from ..bind.runtime import KernelError

    res = store.get(key)
    if res is None or res.status != "Running":
        return
    params = dict(res.params)
    try:
        returned = fn(**params)
        store.finish(key, "Succeeded", result=op.collect(returned, params))
    except KernelError as exc:
        store.finish(key, "Failed", error=str(exc), exception=type(exc).__name__,
                     error_code=None if exc.code is None else str(exc.code))
    except IsolatedCallError as exc:
        store.finish(key, "Failed", error=str(exc), exception=type(exc).__name__)
    except Exception as exc:  # anything else is still this resource's failure, not the runner's crash
        store.finish(key, "Failed", error=f"{type(exc).__name__}: {exc}", exception=type(exc).__name__)


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
