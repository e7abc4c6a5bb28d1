"""The executor: one process beside the server that starts WS-Resource computations in milliseconds.

`python -m wrapgen.wsrf.executor --state DB --spec S...` (started by Server) imports every spec's built
module once, then listens on an abstract Unix socket named after the state database. For each Start it
forks a child that becomes its own session (so Cancel and Destroy stop it with one killpg), applies the
spec's memory limit, calls the kernel in-process and records the outcome itself. The child is the
isolation: a crash, STOP or hang ends the child only, and the executor's reaper records why (with the
tail of the child's output) and enforces the spec's timeout. Without an executor, Start falls back to a
detached runner (wrapgen.wsrf.runner), which pays two interpreter start-ups per computation.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .store import Store


def socket_name(state: str | os.PathLike[str]) -> bytes:
    """The abstract socket name of the executor for a state database (no path length limit, no file)."""
    digest = hashlib.sha256(str(Path(state).resolve()).encode()).hexdigest()[:32]
    return f"\0wrapgen-executor-{digest}".encode()


def submit(state: str | os.PathLike[str], key: str, timeout: float = 10.0) -> bool:
    """Ask the executor to start a resource's computation; False if no executor is listening."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(socket_name(state))
        s.sendall(key.encode() + b"\n")
        reply = s.makefile("rb").readline().decode().strip()
    except OSError:
        return False
    finally:
        s.close()
    if not reply.startswith("ok"):
        raise RuntimeError(f"the executor refused to start {key}: {reply}")
    return True


class Executor:
    """Forks one child per computation from a process that already imported every kernel module."""

    def __init__(self, state: Path, specs: list[Path], cache: str | None) -> None:
        from ..bind.build import load
        from .model import service_model

        self.store = Store(state)
        self.jobs_dir = Path(tempfile.mkdtemp(prefix="wrapgen-jobs-"))
        self.models = {}
        self.modules: dict[str, Any] = {}
        for spec in specs:
            m = service_model(spec)
            self.models[m.name] = m
            self.modules[m.name] = load(spec, cache=cache)
        self.children: dict[int, tuple[str, str, float | None, float | None, int | None, Path]] = {}
        self._lock = threading.Lock()

    def start_job(self, key: str) -> int:
        """Fork the child that computes one resource; returns its pid."""
        res = self.store.get(key)
        if res is None or res.status != "Running" or res.library not in self.models:
            raise LookupError(f"no running resource {key!r} of a library this executor serves")
        op = self.models[res.library].operations[res.function]
        limits = op.fn.resources
        log = self.jobs_dir / f"{os.getpid()}-{len(self.children)}-{time.monotonic_ns()}.log"
        fn = getattr(self.modules[res.library], op.name)
        with self._lock:
            pid = os.fork()
            if pid == 0:
                self._child(key, fn, op, limits.memory, log)
            deadline = time.monotonic() + limits.timeout if limits.timeout else None
            self.children[pid] = (key, op.name, deadline, limits.timeout, limits.memory, log)
        return pid

    def _child(self, key: str, fn: Any, op: Any, memory: int | None, log: Path) -> None:
        code = 0
        try:
            os.setsid()
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self.store.set_pid(key, os.getpid())
            if memory:
                from ..run import _vm_size

                limit = _vm_size() + memory
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            from .runner import compute

            compute(self.store, key, fn, op)
        except BaseException:  # the parent's reaper records a failure from the exit status
            code = 70
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def reap(self) -> None:
        """Record children that died without recording their own outcome; kill those past their timeout."""
        from ..bind.isolate import describe_death, log_tail
        from ..bind.errors import KernelTimeout

        now = time.monotonic()
        with self._lock:
            items = list(self.children.items())
        for pid, (key, name, deadline, timeout, memory, log) in items:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done == 0:
                if deadline is not None and now > deadline:
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    os.waitpid(pid, 0)
                    err = KernelTimeout(f"{name}: no result after {timeout:g} s; the computation was killed")
                    self.store.finish(key, "Failed", error=str(err), exception=type(err).__name__)
                    self._forget(pid, log)
                continue
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            if code != 0:
                tail = log_tail(log.read_text(errors="replace")) if log.exists() else ""
                err = describe_death(name, code, tail, memory, "running")
                self.store.finish(key, "Failed", error=str(err), exception=type(err).__name__)
            self._forget(pid, log)

    def _forget(self, pid: int, log: Path) -> None:
        with self._lock:
            self.children.pop(pid, None)
        log.unlink(missing_ok=True)

    def serve(self, ready: Any = None) -> None:
        """Accept Start requests until SIGTERM."""
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(socket_name(self.store.path))
        srv.listen(64)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())

        def reaper() -> None:
            while not stop.is_set():
                self.reap()
                time.sleep(0.01)

        threading.Thread(target=reaper, daemon=True).start()
        if ready is not None:
            ready.write("ready\n")
            ready.flush()
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except (socket.timeout, InterruptedError):
                continue
            with conn:
                conn.settimeout(10)
                try:
                    key = conn.makefile("rb").readline().decode().strip()
                    pid = self.start_job(key)
                    conn.sendall(f"ok {pid}\n".encode())
                except Exception as exc:  # a bad request fails that Start only
                    try:
                        conn.sendall(f"error {exc}\n".encode())
                    except OSError:
                        pass
        srv.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the executor process."""
    p = argparse.ArgumentParser(prog="python -m wrapgen.wsrf.executor")
    p.add_argument("--state", type=Path, required=True)
    p.add_argument("--spec", type=Path, action="append", required=True)
    p.add_argument("--cache", default=None)
    a = p.parse_args(argv)
    Executor(a.state, a.spec, a.cache).serve(sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
