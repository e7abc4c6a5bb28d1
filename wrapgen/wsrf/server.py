"""`wrapgen.wsrf.Server`: gunicorn sync workers serving the specs, plus the lifetime sweeper.

    with Server(["services/heat.yaml"], state="run/state.db") as srv:
        print(srv.url)            # http://127.0.0.1:PORT

The listening socket is bound here (port 0 picks a free one) and handed to gunicorn as fd://N, so
tests can run many servers at once with no port races. Binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import proc
from ..bind.build import build
from ..net import listen
from .app import ServiceConfig
from .errors import WSRFError
from .executor import owns as executor_owns
from .model import service_model
from .notify import Notifier, Periodic
from .objects import destruct
from .store import Store

if TYPE_CHECKING:
    from .settings import ServeSettings

log = logging.getLogger("wrapgen.wsrf")


class StateLock:
    """An exclusive lock on a state database for the life of one server (flock: released by the kernel
    when its holder dies, kill -9 included, so a stale lock never blocks the next server)."""

    def __init__(self, state: str) -> None:
        self.path = state + ".lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        got = proc.lock_exclusive(self.path)
        if isinstance(got, str):
            raise WSRFError(f"the state database {self.path[:-5]} is being served by {got}; stop that server "
                            "first (or use another --state)")
        self._fd = got

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _terminate(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Sweeper(Periodic):
    """Destroys resources whose termination time has passed; drops expired downloads and subscriptions."""

    name = "sweeper"

    def __init__(self, store: Store, interval: float = 1.0) -> None:
        super().__init__(interval)
        self.store = store
        self.reconcile_every = 5.0  # seconds between checks for lost computations
        self._reconciled = 0.0

    def tick(self) -> None:
        """One pass."""
        self.sweep()
        now = time.monotonic()
        if now - self._reconciled > self.reconcile_every:
            self._reconciled = now
            self.reconcile()

    def reconcile(self, grace: float = 5.0) -> list[str]:
        """Running resources whose computation is gone (a power cut, an executor killed and then its child)
        become Failed, never Running forever; returns their keys. A computation counts as gone when its
        process has ended (or was never recorded, `grace` seconds after Start) and no executor holds it."""
        lost = []
        now = time.time()
        for key, pid, started in self.store.running():
            if pid is not None and proc.alive(pid):
                continue
            if pid is None and started is not None and now - started < grace:
                continue  # just started: the child records its pid in a moment
            if executor_owns(self.store.path, key):
                continue  # the executor has it (its outcome may be waiting for the store)
            if self.store.finish(key, "Failed", error="lost: the computation's process is gone (the server or its "
                                 "executor stopped while it ran)", exception="KernelLost"):
                lost.append(key)
        return lost

    def sweep(self) -> list[str]:
        """One pass; returns the keys destroyed."""
        now = time.time()
        done = []
        for key in self.store.expired(now):
            destruct(str(self.store.path), key, timeout=10.0)  # an object's destructor runs; computations have none
            existed, pid = self.store.destroy(key, "scheduled termination time reached")
            proc.stop_group(pid)
            if existed:
                done.append(key)
        self.store.drop_expired_blobs(now)
        self.store.expire_notifications(now)
        return done


class Server:
    """A running WS-RF server (gunicorn master + workers) for one or more specs."""

    def __init__(self, specs: list[str | os.PathLike[str]], state: str | os.PathLike[str], host: str = "127.0.0.1",
                 port: int = 0, workers: int | None = None, sweep_interval: float = 1.0, log_file: str | None = None,
                 tls_cert: str | None = None, tls_key: str | None = None, tls_ca: str | None = None,
                 client_certs: str = "required", gridmap: str | None = None, threads: int = 8,
                 read_timeout: float = 30.0, header_timeout: float = 20.0, **limits: Any) -> None:
        if gridmap is not None:
            if not (tls_cert and tls_ca and Path(tls_ca).is_dir() and client_certs == "required"):
                raise WSRFError("a grid-mapfile needs HTTPS with required client certificates and a trust "
                                "directory (tls_cert, tls_key, tls_ca=DIR with <hash>.0 and .signing_policy files)")
            limits.update(gridmap=str(Path(gridmap).resolve()), trust_dir=str(Path(tls_ca).resolve()))
        self.config = ServiceConfig(specs=[str(Path(s).resolve()) for s in specs], state=str(Path(state).resolve()),
                                    **limits)
        self.host, self.port = host, port
        self.workers = workers or os.cpu_count() or 1
        if threads < 1 or not read_timeout > 0 or not header_timeout > 0:
            raise WSRFError("threads must be at least 1 and the read and header timeouts positive")
        self.threads, self.read_timeout, self.header_timeout = threads, read_timeout, header_timeout
        store = Store(self.config.state)
        self.sweeper = Sweeper(store, sweep_interval)
        try:
            self.notifier = Notifier(store, allow=self.config.notify_allow)
        except ValueError as exc:
            raise WSRFError(str(exc)) from None
        self.log_file = log_file
        self.tls: tuple[str, str, dict[str, str]] | None = None
        if tls_cert or tls_key:
            if not (tls_cert and tls_key):
                raise WSRFError("HTTPS needs both a certificate (tls_cert) and its key (tls_key)")
            from .tls import tls_env

            try:
                env = tls_env(str(Path(tls_ca).resolve()) if tls_ca else None, client_certs)
            except ValueError as exc:
                raise WSRFError(str(exc)) from None
            self.tls = (str(Path(tls_cert).resolve()), str(Path(tls_key).resolve()), env)
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = StateLock(self.config.state)
        self._executor: subprocess.Popen[str] | None = None
        self._sock: socket.socket | None = None

    @classmethod
    def from_settings(cls, specs: list[str | os.PathLike[str]], settings: ServeSettings, **extra: Any) -> Server:
        """A server for specs as the settings model describes it (what `wrapgen serve` runs)."""
        s = settings
        return cls(specs, state=s.state, host=s.host, port=s.port, workers=s.workers, log_file=s.log,
                   tls_cert=s.tls_cert, tls_key=s.tls_key, tls_ca=s.tls_ca, client_certs=s.client_certs,
                   gridmap=s.gridmap, threads=s.threads, max_request=s.max_request, inline_limit=s.inline_limit,
                   lifetime=s.lifetime or None, notify_allow=list(s.notify_allow), admins=list(s.admins),
                   blob_quota=s.blob_quota, call_timeout=s.call_timeout, **extra)

    @property
    def url(self) -> str:
        """http(s)://host:port of the running server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def prepare(self) -> None:
        """Check every spec and build its module once, so workers never race to compile."""
        for spec in self.config.specs:
            service_model(spec)
            build(spec, cache=self.config.cache)

    def _start_executor(self) -> None:
        cmd = [sys.executable, "-P", "-m", "wrapgen.wsrf.executor", "--state", self.config.state]
        for spec in self.config.specs:
            cmd += ["--spec", spec]
        if self.config.cache:
            cmd += ["--cache", self.config.cache]
        # One BLAS thread: the executor forks a child per computation, and a forked thread pool deadlocks.
        env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
        self._executor = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, env=env,
                                          start_new_session=True, preexec_fn=proc.die_with_parent)
        line = self._executor.stdout.readline() if self._executor.stdout else ""
        if line.strip() != "ready":
            self._executor.wait()
            raise WSRFError(f"the executor did not start (exit status {self._executor.returncode})")

    def start(self, timeout: float = 60.0) -> Server:
        """Start serving; returns when the server answers."""
        self.prepare()
        self._lock.acquire()
        try:
            self._start_executor()
        except BaseException:
            self._lock.release()
            raise
        self.sweeper.reconcile(grace=0)  # what a previous server (or a power cut) left Running
        sock = listen(self.host, self.port, WSRFError)
        sock.set_inheritable(True)
        self._sock = sock
        self.port = sock.getsockname()[1]
        env = {**os.environ, **self.config.to_env()}
        # Threaded workers with read deadlines (wrapgen.wsrf.worker): silent or trickling clients cannot take
        # every worker, and long kernel calls do not hold up short requests.
        env.update(WRAPGEN_WSRF_READ_TIMEOUT=str(self.read_timeout), WRAPGEN_WSRF_HEADER_TIMEOUT=str(self.header_timeout))
        cmd = [sys.executable, "-P", "-m", "gunicorn", "--bind", f"fd://{sock.fileno()}", "--workers",
               str(self.workers), "--worker-class", "wrapgen.wsrf.worker.GuardedWorker", "--threads",
               str(self.threads), "--keep-alive", "5", "--timeout", "0", "--graceful-timeout", "5",
               "--log-level", "warning"]
        if self.tls:
            cert, key, tls_env = self.tls
            cmd += ["--certfile", cert, "--keyfile", key, "-c", "python:wrapgen.wsrf.tls"]
            env.update(tls_env)
        cmd.append("wrapgen.wsrf.wsgi:application")
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self._proc = subprocess.Popen(cmd, pass_fds=[sock.fileno()], env=env, stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=out if self.log_file else None, preexec_fn=proc.die_with_parent)
        if out is not subprocess.DEVNULL:
            out.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._probe()
                break
            except OSError:
                if self._proc.poll() is not None:
                    self._cleanup()
                    raise WSRFError(f"the server exited with status {self._proc.returncode} while starting"
                                    + (f"; see {self.log_file}" if self.log_file else "")) from None
                if time.monotonic() > deadline:
                    self.stop()
                    raise WSRFError(f"the server did not answer within {timeout:g} s") from None
                time.sleep(0.05)
        self.sweeper.start()
        self.notifier.start()
        return self

    def _probe(self) -> None:
        if not self.tls:
            with urllib.request.urlopen(f"{self.url}/", timeout=5) as r:
                r.read()
            return
        # Over TLS the server may demand a client certificate this process does not have: any answer to a
        # handshake, a refusal included, means a worker is serving.
        import ssl

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            with socket.create_connection((self.host, self.port), timeout=5) as raw, \
                    ctx.wrap_socket(raw, server_hostname=self.host) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                s.recv(1)
        except ssl.SSLError:
            pass

    def _cleanup(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._executor is not None:
            # Computations under way go on (their own sessions) and record their results themselves.
            _terminate(self._executor)
            if self._executor.stdout:
                self._executor.stdout.close()
            self._executor = None
        self._lock.release()

    def stop(self) -> None:
        """Stop the workers (running computations go on and finish into the state database)."""
        self.sweeper.stop()
        self.notifier.stop()
        if self._proc is not None:
            _terminate(self._proc)
        self._cleanup()

    def wait(self) -> int:
        """Block until the server exits (for the CLI)."""
        assert self._proc is not None
        return self._proc.wait()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
