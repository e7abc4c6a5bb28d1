"""A url-copy agent: `WRAPGEN_URL_COPY_AGENT=SECONDS wrapgen url-copy ...` keeps its sessions for the next runs.

A one-file `wrapgen url-copy` spends most of its time starting Python and importing the TLS and X.509 stack
(~0.1 s), then logging in (GSI: a handshake and a delegation), where globus-url-copy, a C program, takes ~40 ms in
all. ssh's ControlPersist is the model: with the variable set, the first run starts an agent in the background (it
lives until it has been idle SECONDS), and later runs hand their command line, credential variables and standard
streams to it over a Unix socket and wait for its exit status. The agent runs them one at a time, exactly as the
command would (same parser, messages and exit status, output on the caller's own stdout/stderr), and keeps the
sessions they opened: a second copy from the same server with the same credential and options skips the login.

Safety: the socket lives in a directory only this user can enter ($XDG_RUNTIME_DIR/wrapgen, else
/tmp/wrapgen-UID, refused unless owned by the user with mode 0700), the agent serves only callers of its own uid
(SO_PEERCRED), a session is reused only for the same options and the same credential files (path, inode, size and
modification time: a renewed proxy means a new login), and a cached session is NOOPed before reuse. Any failure
of a run drops the sessions it used.
"""

from __future__ import annotations

# Only what the calling side needs, all cheap (no socket.py, json, pathlib or typing: ~25 ms between them), since
# a run handed to the agent is over once these functions return.
import array
import marshal
import os
import sys
import zlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    import threading
    from collections.abc import Callable
    from typing import Any

#: The variables a run's GSI and TLS code reads: a request carries them, and they are part of the session key.
CREDENTIAL_ENV = ("X509_USER_PROXY", "X509_USER_CERT", "X509_USER_KEY", "X509_CERT_DIR", "X509_CERT_FILE",
                  "GRIDMAP")
MAX_REQUEST = 1 << 20


def socket_path() -> str | None:
    """Where this Python's and this wrapgen's agent listens (an upgrade's files are newer: a new agent), or None
    when no private directory can be had."""
    import stat

    runtime = os.environ.get("XDG_RUNTIME_DIR")
    d = os.path.join(runtime, "wrapgen") if runtime else f"/tmp/wrapgen-{os.getuid()}"
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        st = os.lstat(d)
        tag = zlib.crc32(f"{sys.executable}\0{sys.version}\0{os.stat(__file__).st_mtime_ns}".encode())
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None  # someone else's, or open to others: a socket there could be an impostor's
    return os.path.join(d, f"url-copy-{tag:08x}.sock")


def run_via_agent(argv: list[str]) -> int | None:
    """The exit status of `wrapgen *argv` run by this user's agent, or None when no agent answers."""
    import _socket

    path = socket_path()
    if path is None:
        return None
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError:
        s.close()
        return None
    try:
        request = marshal.dumps({"argv": list(argv), "cwd": os.getcwd(),
                                 "env": {k: os.environ[k] for k in CREDENTIAL_ENV if k in os.environ}})
        try:
            s.sendmsg([len(request).to_bytes(4, "big") + request],
                      [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, array.array("i", [0, 1, 2]))])
            reply = s.recv(64)
        except OSError as exc:
            reply = f"error {exc}".encode()
    finally:
        s.close()
    if not reply.startswith(b"exit "):
        print(f"wrapgen url-copy: error: the url-copy agent ended during the run ({reply.decode(errors='replace')}); "
              f"run again without WRAPGEN_URL_COPY_AGENT to copy without it", file=sys.stderr)
        return 1
    return int(reply[5:])


def start_in_background(idle: str) -> None:
    """Start an agent that serves later runs until it has been idle that many seconds (nothing if idle is not a
    positive number: the variable set to 0 turns the agent off)."""
    import subprocess

    try:
        if not float(idle) > 0:
            return
    except ValueError:
        print(f"wrapgen url-copy: WRAPGEN_URL_COPY_AGENT={idle!r}: expected seconds the agent may stay idle; "
              f"copying without it", file=sys.stderr)
        return
    subprocess.Popen([sys.executable, "-P", "-m", "wrapgen", "url-copy-agent", "--idle", idle], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)


class Agent:
    """Serves url-copy runs one at a time, keeping their sessions between runs."""

    def __init__(self, path: str, idle: float, run: Callable[..., int]) -> None:
        self.path, self.idle = path, idle
        self.run = run  # wrapgen.cli.main: (argv, prepare=...) -> exit status
        self._stores: dict[tuple, Any] = {}  # session key -> wrapgen.urls.registry.Stores
        self._running: dict[tuple, Any] = {}  # the run in progress's stores by key (what a vanished caller aborts)
        self._sock: socket.socket | None = None

    def bind(self) -> bool:
        """Listen on the socket; False if another agent already does."""
        import socket

        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(self.path)
            probe.close()
            return False
        except OSError:
            probe.close()
        try:
            os.unlink(self.path)  # a dead agent's socket
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(self.path)
        except OSError:
            sock.close()
            return False  # another agent started at the same moment
        finally:
            os.umask(old)
        sock.listen(16)
        sock.settimeout(self.idle)
        self._sock = sock
        self._inode = os.stat(self.path).st_ino
        return True

    def serve(self) -> None:
        """Answer runs until idle for self.idle seconds."""
        assert self._sock is not None
        try:
            while True:
                try:
                    conn, _ = self._sock.accept()
                except TimeoutError:
                    return
                with conn:
                    self._answer(conn)
        finally:
            self.close()

    def _answer(self, conn: socket.socket) -> None:
        import socket
        import struct

        _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                              struct.calcsize("3i")))
        if uid != os.getuid():
            return  # the directory's mode should have kept it out; never run another user's command
        conn.settimeout(10)
        fds: list[int] = []
        try:
            data, fds, _flags, _addr = socket.recv_fds(conn, MAX_REQUEST + 4, 3)
            while len(data) >= 4 and len(data) < 4 + int.from_bytes(data[:4], "big") <= MAX_REQUEST + 4:
                more = conn.recv(MAX_REQUEST + 4 - len(data))
                if not more:
                    return
                data += more
            if len(data) < 4 or len(fds) != 3 or len(data) != 4 + int.from_bytes(data[:4], "big"):
                return
            request = _request(data[4:])
            if request is None:
                return
            import threading

            done = threading.Event()
            threading.Thread(target=self._watch, args=(conn, done), name="url-copy-agent-watch", daemon=True).start()
            try:
                status = self._run(request, fds)
            finally:
                done.set()
            conn.sendall(f"exit {status}".encode())
        except (OSError, ValueError):
            return
        finally:
            for fd in fds:
                os.close(fd)

    def _watch(self, conn: socket.socket, done: threading.Event) -> None:
        """Abort the run when its caller goes away (Ctrl-C, killed): the copy must not go on unseen."""
        import select

        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN | select.POLLHUP)
        while not done.is_set():
            if poller.poll(200) and not done.is_set():  # the caller sends nothing more: readable means gone
                for stores in list(self._running.values()):
                    stores.abort()
                return

    def _run(self, request: dict[str, Any], fds: list[int]) -> int:
        """One run of `wrapgen ARGV` with the caller's streams, directory and credential variables."""
        from contextlib import nullcontext

        argv, env = request["argv"], {k: v for k, v in request["env"].items() if k in CREDENTIAL_ENV}
        for k in CREDENTIAL_ENV:
            if k in env:
                os.environ[k] = env[k]
            else:
                os.environ.pop(k, None)
        def stores_for(settings: Any) -> Any:
            from .registry import Stores

            key = (settings, *(_identity(k, env.get(k)) for k in CREDENTIAL_ENV))
            stores = self._stores.get(key)
            if stores is None:
                stores = self._stores[key] = Stores(settings)
            else:
                stores.prune()
            self._running[key] = stores
            return nullcontext(stores)

        saved = sys.stdin, sys.stdout, sys.stderr
        streams = [os.fdopen(fds[0], "r", closefd=False), os.fdopen(fds[1], "w", closefd=False),
                   os.fdopen(fds[2], "w", closefd=False)]
        sys.stdin, sys.stdout, sys.stderr = streams
        try:
            os.chdir(request["cwd"] or "/")
            status = self.run(argv, prepare=lambda args: setattr(args, "stores_for", stores_for))
        except SystemExit as exc:  # argparse's usage errors and --help
            status = exc.code if isinstance(exc.code, int) else 2
        except BaseException as exc:  # noqa: BLE001 - the caller gets the message, the agent goes on
            print(f"wrapgen url-copy: error: {type(exc).__name__}: {exc}", file=sys.stderr)
            status = 1
        finally:
            for s in streams[1:]:
                try:
                    s.flush()
                except OSError:
                    pass
            sys.stdin, sys.stdout, sys.stderr = saved
            os.chdir("/")
        running, self._running = self._running, {}
        if status:  # a failed run's sessions may be in any state: the next run logs in afresh
            for key, stores in running.items():
                del self._stores[key]
                stores.close()
        return status

    def close(self) -> None:
        """Close every session and remove the socket (if it is still this agent's)."""
        for stores in self._stores.values():
            stores.close()
        self._stores.clear()
        if self._sock is not None:
            self._sock.close()
            try:
                if os.stat(self.path).st_ino == self._inode:
                    os.unlink(self.path)
            except OSError:
                pass
            self._sock = None


def _request(data: bytes) -> dict[str, Any] | None:
    """A run's request as run_via_agent sends it, or None for anything else (the agent ignores it and goes on)."""
    try:
        request = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    if not (isinstance(request, dict) and isinstance(request.get("argv"), list) and isinstance(request.get("cwd"), str)
            and isinstance(request.get("env"), dict) and all(isinstance(a, str) for a in request["argv"])
            and all(isinstance(k, str) and isinstance(v, str) for k, v in request["env"].items())):
        return None
    return request


def _identity(name: str, value: str | None) -> tuple:
    """A credential variable's value with its file's identity: a renewed proxy must not reuse the old login."""
    if value is None:
        return (name, None)
    try:
        st = os.stat(value)
        return (name, value, st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        return (name, value)


def serve(argv: list[str], run: Callable[..., int]) -> int:
    """`wrapgen url-copy-agent --idle SECONDS` (started by start_in_background, not listed in --help): serve this
    user's url-copy runs with run (wrapgen.cli.main) until idle that long."""
    import argparse

    ap = argparse.ArgumentParser(prog="wrapgen url-copy-agent")
    ap.add_argument("--idle", type=float, default=60.0, help="seconds without a run before the agent exits")
    args = ap.parse_args(argv)
    path = socket_path()
    if path is None or not args.idle > 0:
        return 1
    # Everything a run needs is imported before the socket appears: runs never wait for imports.
    import importlib

    for name in ("wrapgen.urls.cli", "wrapgen.urls.copy", "wrapgen.urls.local", "wrapgen.gridftp.store",
                 "wrapgen.gridftp.client", "wrapgen.gsi.gss"):
        importlib.import_module(name)
    agent = Agent(path, args.idle, run)
    if not agent.bind():
        return 0
    agent.serve()
    return 0
