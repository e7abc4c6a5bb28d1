"""`wrapgen.gridftp.Server`: the GridFTP server (one thread per control connection).

    with Server(root="/data", anonymous=True) as srv:     # 127.0.0.1, a free port
        print(srv.port)

Binds 127.0.0.1 unless told otherwise; every session is jailed to the root; anonymous logins only when
asked for; users and salted password hashes from a file (`wrapgen gridftp-passwd`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..net import listen
from .auth import PasswordFile
from .errors import GridFTPError
from .security import GSIConfig, KeyPool
from .policy import SessionPolicy
from .session import Session

if TYPE_CHECKING:
    from .settings import ServerSettings

log = logging.getLogger("wrapgen.gridftp")

ANONYMOUS_ACCESS = ("read", "write", "full")


class Server:
    """A GridFTP server bound to host:port, serving root."""

    def __init__(self, root: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 0,
                 anonymous: bool = False, password_file: str | os.PathLike[str] | None = None,
                 port_range: tuple[int, int] | None = None, max_sessions: int = 256, sync: bool = False,
                 gsi: GSIConfig | None = None, marker_interval: float = 5.0, *, login_timeout: float = 120.0,
                 idle_timeout: float = 600.0, data_timeout: float = 300.0, max_per_address: int = 32,
                 max_file_size: int = 1 << 40, anonymous_access: str = "read",
                 transfer_log: str | os.PathLike[str] | None = None, processes: int = 1) -> None:
        # What worker processes (processes > 1, wrapgen.gridftp.pool) build their own Server from.
        self._config = dict(root=str(root), anonymous=anonymous, password_file=password_file and str(password_file),
                            port_range=port_range, max_sessions=max_sessions, sync=sync,
                            gsi=gsi and {k: str(getattr(gsi, k)) for k in ("cert", "key", "cert_dir", "gridmap")},
                            marker_interval=marker_interval, login_timeout=login_timeout, idle_timeout=idle_timeout,
                            data_timeout=data_timeout, max_per_address=max_per_address, max_file_size=max_file_size,
                            anonymous_access=anonymous_access, transfer_log=transfer_log and str(transfer_log))
        if processes < 1:
            raise GridFTPError(f"processes must be at least 1, got {processes!r}")
        self.processes = processes
        self._pool: Any = None
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise GridFTPError(f"server root {root} is not a directory")
        if not anonymous and password_file is None and gsi is None:
            raise GridFTPError("no way to log in: allow --anonymous, give a --password-file or enable --gsi")
        self.gsi = gsi
        self.marker_interval = marker_interval  # seconds between 112 performance markers of a long transfer
        self.gsi_only = gsi is not None and not anonymous and password_file is None
        self._keys: KeyPool | None = None  # made by start_sessions(): a parent of worker processes needs none
        self.host, self.port = host, port
        self.anonymous = anonymous
        self.passwords = PasswordFile(password_file) if password_file else None
        self.port_range = port_range
        self.max_sessions = max_sessions
        self.sync = sync  # fsync every stored file before 226 (survives a power cut; costs ~ms a file)
        # Limits against clients that hold resources without using them (GCT's control timeouts as the
        # model: 120 s to log in, 600 s idle); data_timeout ends a transfer whose connections are silent.
        for name, value in (("login_timeout", login_timeout), ("idle_timeout", idle_timeout),
                            ("data_timeout", data_timeout)):
            if not value > 0:
                raise GridFTPError(f"{name} must be a positive number of seconds, got {value!r}")
        if max_per_address < 1 or max_sessions < 1:
            raise GridFTPError("max_sessions and max_per_address must be at least 1")
        if max_file_size < 1:
            raise GridFTPError(f"max_file_size must be a positive number of bytes, got {max_file_size!r}")
        self.login_timeout, self.idle_timeout, self.data_timeout = login_timeout, idle_timeout, data_timeout
        self.max_per_address = max_per_address
        self.max_file_size = max_file_size
        # What anonymous sessions may do: "read" (the default), "write" (upload new files and change only
        # what the session itself wrote), "full" (what the server's own account may: a private scratch server)
        if anonymous_access not in ANONYMOUS_ACCESS:
            raise GridFTPError(f"anonymous_access must be one of {', '.join(ANONYMOUS_ACCESS)}, got {anonymous_access!r}")
        self.anonymous_access = anonymous_access
        self.transfer_log_path = transfer_log
        self._transfer_log: Any = None
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._sessions: set[Session] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    @classmethod
    def from_settings(cls, settings: ServerSettings) -> Server:
        """A server as the settings model describes it (what `wrapgen gridftp-server` runs)."""
        gsi = None
        if settings.gsi:
            gsi = GSIConfig(settings.host_cert, settings.host_key, settings.cert_dir, settings.gridmap)
        return cls(settings.root, settings.host, settings.port, settings.anonymous, settings.password_file,
                   settings.port_range, max_sessions=settings.max_sessions, sync=settings.sync, gsi=gsi,
                   login_timeout=settings.login_timeout, idle_timeout=settings.idle_timeout,
                   data_timeout=settings.data_timeout, max_per_address=settings.max_per_address,
                   max_file_size=settings.max_file_size, anonymous_access=settings.anonymous_access or "read",
                   transfer_log=settings.log_transfer, processes=settings.processes)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Server:
        """A worker process's server, from the parent's settings (see wrapgen.gridftp.pool)."""
        config = dict(config)
        if config.get("gsi"):
            config["gsi"] = GSIConfig(**config["gsi"])
        if config.get("port_range"):
            config["port_range"] = tuple(config["port_range"])
        return cls(**config)

    def delegation_key(self):
        """A fresh private key for a delegation request (made ahead of time by the key pool)."""
        assert self._keys is not None
        return self._keys.get()

    @property
    def policy(self) -> SessionPolicy:
        """The settings sessions act on, frozen as they are now."""
        return SessionPolicy(root=self.root, anonymous=self.anonymous, anonymous_access=self.anonymous_access,
                             passwords=self.passwords, gsi=self.gsi, gsi_only=self.gsi_only,
                             port_range=self.port_range, sync=self.sync, marker_interval=self.marker_interval,
                             data_timeout=self.data_timeout, max_file_size=self.max_file_size,
                             delegation_key=self.delegation_key if self._keys is not None else None,
                             transfer_log=self._transfer_log)

    def start(self) -> Server:
        """Listen and serve in background threads (and, with processes > 1, worker processes)."""
        if self.processes > 1:
            from .pool import Pool

            self._pool = Pool(self.processes, self._config)
            self._pool.start()
        else:
            self.start_sessions()
        try:
            sock = listen(self.host, self.port, GridFTPError)
        except BaseException:
            self.stop()
            raise
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name="gridftp-accept", daemon=True)
        self._thread.start()
        return self

    def start_sessions(self) -> None:
        """Get ready to serve connections given to admit(): delegation keys, the transfer log, session deadlines."""
        if self.gsi is not None and self._keys is None:
            self._keys = KeyPool()
        if self.transfer_log_path is not None and self._transfer_log is None:
            from ..netlogger import EventLog, inherited_guid

            self._transfer_log = EventLog(self.transfer_log_path, inherited_guid())
        self._sweeper = threading.Thread(target=self._sweep, name="gridftp-timeouts", daemon=True)
        self._sweeper.start()

    def worker_pids(self) -> list[int]:
        """The worker processes' ids (none for a one-process server)."""
        return self._pool.pids() if self._pool is not None else []

    def _sweep(self) -> None:
        # One thread for every session's login and idle deadlines: a socket timeout alone would let a
        # client that sends a byte a minute (slowloris) hold a session forever.
        tick = min(1.0, self.login_timeout / 4, self.idle_timeout / 4)
        while not self._stopping.wait(tick):
            now = time.monotonic()
            with self._lock:
                sessions = list(self._sessions)
            for s in sessions:
                if s.user is None and now - s.started > self.login_timeout:
                    s.timed_out(f"No login within {self.login_timeout:g} seconds")
                elif not s.busy and now - s.last_command > self.idle_timeout:
                    s.timed_out(f"Idle timeout ({self.idle_timeout:g} seconds)")

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                conn, addr = self._sock.accept()
            except OSError:
                return
            if self._pool is not None:
                every, mine = self._pool.counts(addr[0])
            else:
                with self._lock:
                    every, mine = len(self._sessions), sum(1 for s in self._sessions if s.client_ip == addr[0])
            busy = every >= self.max_sessions
            if busy or mine >= self.max_per_address:
                self._refuse(conn, b"Too many sessions" if busy else b"Too many sessions from your address")
                continue
            if self._pool is None:
                self.admit(conn, addr)
            elif not self._pool.hand(conn, addr):
                self._refuse(conn, b"No server process is ready")

    @staticmethod
    def _refuse(conn: socket.socket, why: bytes) -> None:
        try:
            conn.setblocking(False)  # never wait on a client that does not read
            conn.send(b"421 " + why + b"; try again later.\r\n")
        except OSError:
            pass
        conn.close()

    def admit(self, conn: socket.socket, addr: tuple[str, int], on_end: Any = None) -> None:
        """Serve a connection (already counted against the limits) in a thread of its own; on_end() when done."""
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = Session(self.policy, conn, addr)
        with self._lock:
            self._sessions.add(session)
        threading.Thread(target=self._serve, args=(session, on_end), name=f"gridftp-{addr[0]}:{addr[1]}",
                         daemon=True).start()

    def _serve(self, session: Session, on_end: Any = None) -> None:
        try:
            session.run()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the client went away while we answered: an ordinary end, not worth a traceback
        except Exception:  # one broken session must not affect the others
            log.exception("session from %s ended with an error", session.addr)
        finally:
            session.close()
            with self._lock:
                self._sessions.discard(session)
            if on_end is not None:
                on_end()

    def stop(self) -> None:
        """Stop listening and drop every session."""
        self._stopping.set()
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            self._sock.close()
            self._sock = None
        with self._lock:
            sessions = list(self._sessions)
        for s in sessions:
            s.shutdown()  # their threads close them
        if self._thread is not None:
            self._thread.join(5)
        if self._pool is not None:
            self._pool.stop()
            self._pool = None
        if self._keys is not None:
            self._keys.close()
            self._keys = None
        if self._transfer_log is not None:
            self._transfer_log.close()
            self._transfer_log = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
