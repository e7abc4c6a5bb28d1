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
import pickle
import signal
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import proc
from .store import Store


def socket_name(state: str | os.PathLike[str]) -> bytes:
    """The abstract socket name of the executor for a state database (no path length limit, no file)."""
    digest = hashlib.sha256(str(Path(state).resolve()).encode()).hexdigest()[:32]
    return f"\0wrapgen-executor-{digest}".encode()


def owns(state: str | os.PathLike[str], key: str, timeout: float = 5.0) -> bool | None:
    """Whether the executor of this state has the resource's computation (running, or its outcome kept until
    the store takes it); None if no executor answers."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(socket_name(state))
        s.sendall(f"owns {key}\n".encode())
        return s.makefile("rb").readline().decode().strip() == "yes"
    except OSError:
        return None
    finally:
        s.close()


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


@dataclass
class Child:
    """A forked computation: its resource, limits, log and the pipe its outcome comes on when it must."""

    key: str
    name: str
    deadline: float | None
    timeout: float | None
    memory: int | None
    log: Path
    pipe: int
    kept: bytearray = field(default_factory=bytearray)


class Executor:
    """Forks one child per computation from a process that already imported every kernel module."""

    def __init__(self, state: Path, specs: list[Path], cache: str | None) -> None:
        from ..bind.loader import load
        from .model import service_model

        self.store = Store(state)
        self.jobs_dir = Path(tempfile.mkdtemp(prefix="wrapgen-jobs-"))
        self.models = {}
        self.modules: dict[str, Any] = {}
        for spec in specs:
            m = service_model(spec)
            self.models[m.name] = m
            self.modules[m.name] = load(spec, cache=cache)
        self.children: dict[int, Child] = {}
        self.pending: dict[str, dict[str, Any]] = {}  # outcomes the store could not take yet, by key
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
            r, w = os.pipe()  # the child's outcome, when the store cannot take it
            pid = os.fork()
            if pid == 0:
                os.close(r)
                self._child(key, fn, op, limits.memory, log, w, res)
            os.close(w)
            os.set_blocking(r, False)
            deadline = time.monotonic() + limits.timeout if limits.timeout else None
            self.children[pid] = Child(key, op.name, deadline, limits.timeout, limits.memory, log, r)
        return pid

    def _child(self, key: str, fn: Any, op: Any, memory: int | None, log: Path, out: int, res: Any) -> None:
        code = 0
        try:
            proc.new_session()
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            try:
                self.store.set_pid(key, os.getpid())
            except (sqlite3.Error, OSError):
                pass  # a full disk: the pid is only for Cancel; the computation can still run
            if memory:
                proc.limit_memory(memory)
            from .runner import compute

            def keep(result: dict[str, Any]) -> None:
                # The parent holds it in memory and records it when the store takes writes again.
                data = pickle.dumps(result, protocol=5)
                view = memoryview(data)
                while view:
                    view = view[os.write(out, view):]

            compute(self.store, key, fn, op, keep=keep, res=res)
        except BaseException:  # the parent's reaper records a failure from the exit status
            code = 70
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def reap(self) -> None:
        """Record children that died without recording their own outcome; kill those past their timeout;
        record outcomes the store could not take before (every pass, until it takes them)."""
        from ..bind.errors import KernelTimeout
        from ..bind.isolate import describe_death, log_tail

        now = time.monotonic()
        for key, result in list(self.pending.items()):
            try:
                self.store.finish(key, **result)
                del self.pending[key]
            except (sqlite3.Error, OSError):
                break  # still failing: try again on the next pass
        with self._lock:
            items = list(self.children.items())
        for pid, c in items:
            self._drain(c)
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done == 0:
                if c.deadline is not None and now > c.deadline:
                    proc.stop_group(pid)
                    os.waitpid(pid, 0)
                    err = KernelTimeout(f"{c.name}: no result after {c.timeout:g} s; the computation was killed")
                    self._record(c.key, {"status": "Failed", "error": str(err), "exception": type(err).__name__})
                    self._forget(pid, c)
                continue
            self._drain(c)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            if c.kept:
                try:
                    self._record(c.key, pickle.loads(bytes(c.kept)))
                except Exception:  # a child killed while writing: its outcome is unknown
                    self._record(c.key, {"status": "Failed", "exception": "KernelCrashed",
                                         "error": f"{c.name}: the computation ended while reporting its outcome"})
            elif code != 0:
                tail = log_tail(c.log.read_text(errors="replace")) if c.log.exists() else ""
                err = describe_death(c.name, code, tail, c.memory, "running")
                self._record(c.key, {"status": "Failed", "error": str(err), "exception": type(err).__name__})
            self._forget(pid, c)

    @staticmethod
    def _drain(c: Child) -> None:
        while True:
            try:
                chunk = os.read(c.pipe, 1 << 20)
            except BlockingIOError:
                return
            if not chunk:
                return
            c.kept += chunk

    def _record(self, key: str, result: dict[str, Any]) -> None:
        """Record an outcome now, or keep it in memory until the store takes it."""
        try:
            self.store.finish(key, **result)
        except (sqlite3.Error, OSError) as exc:
            print(f"executor: cannot record the outcome of {key} yet ({exc}); kept", file=sys.stderr, flush=True)
            self.pending[key] = result

    def _forget(self, pid: int, c: Child) -> None:
        with self._lock:
            self.children.pop(pid, None)
        os.close(c.pipe)
        c.log.unlink(missing_ok=True)

    def serve(self, ready: Any = None) -> None:
        """Accept Start requests until SIGTERM."""
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(socket_name(self.store.path))
        srv.listen(64)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())

        def reaper() -> None:
            # Nothing may end this thread: without it crashes go unrecorded and timeouts unenforced.
            while not stop.is_set():
                try:
                    self.reap()
                except Exception as exc:
                    print(f"executor: reaper pass failed: {exc!r}; retrying", file=sys.stderr, flush=True)
                    time.sleep(0.5)
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
                    line = conn.makefile("rb").readline().decode().strip()
                    if line.startswith("owns "):  # the sweeper reconciling a Running resource
                        key = line[5:]
                        with self._lock:
                            mine = key in self.pending or any(c.key == key for c in self.children.values())
                        conn.sendall(b"yes\n" if mine else b"no\n")
                        continue
                    pid = self.start_job(line)
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
