"""MODE E (GFD.020 extended block mode) transfers for the server: N parallel data connections, kept open
between transfers (the `-fast` channel cache), the sending side connecting. The block I/O runs in the
native core (wrapgen._core.modee_send / modee_receive) with the GIL released; this module only decides
which connections carry a transfer and when it is complete."""

from __future__ import annotations

import errno
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import _core
from .datachan import DataError, Passive, connect, ready

MAX_PARALLEL = 64
BLOCK = 1 << 20


@dataclass
class Channels:
    """A session's MODE E data connections and where they lead."""

    target: tuple | None = None  # ("port", ip, port) for connections we opened
    conns: list[socket.socket] = field(default_factory=list)
    live: list[socket.socket] = field(default_factory=list)  # carrying the current transfer (ABOR shuts them)
    bufsize: int | None = None  # SBUF: TCP buffers of the connections opened

    def abort(self) -> None:
        """Stop the current transfer from another thread: its connections see an error at once."""
        for c in list(self.live) + list(self.conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def drop(self) -> None:
        """Close every cached connection."""
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        self.conns, self.target = [], None


# DCAU: authenticate a new data connection (True: we connected); returns the socket to use instead (PROT P:
# the plain end of a relay that encrypts) or None
Secure = Callable[[socket.socket, bool], "socket.socket | None"]


def send(channels: Channels, active: tuple[str, int] | None, parallel: int, f, offset: int, length: int,
         secure: Secure | None = None, block_base: int | None = None, progress: _core.Progress | None = None) -> int:
    """Send a file range as MODE E; the sender connects (to the PORT address) or reuses cached connections.
    Block headers carry file offsets (block_base=None) or offsets from block_base (ESTO's adjusted module)."""
    if active is None:
        raise DataError("in MODE E the sending side connects: use PORT (or EPRT/SPOR) before RETR")
    target = ("port", *active)
    if channels.target != target:
        channels.drop()
        channels.target = target
    # The client caches every connection we open (-fast): keep them all, add what is missing, never drop
    # one it still counts on.
    while len(channels.conns) < parallel:
        conn = connect(*active, bufsize=channels.bufsize)
        if secure is not None:
            try:
                conn = secure(conn, True) or conn
            except DataError:
                conn.close()
                channels.drop()
                raise
        channels.conns.append(conn)
    use = channels.conns[:parallel]
    channels.live = list(use)
    try:
        return _core.modee_send([c.fileno() for c in use], f.fileno(), offset, length, BLOCK,
                                offset if block_base is None else block_base, progress)
    except RuntimeError as exc:
        channels.drop()
        raise DataError(f"transfer aborted: {exc}") from None
    finally:
        channels.live = []


def receive(channels: Channels, passive: Passive, f, base: int = 0, secure: Secure | None = None,
            control: socket.socket | None = None, progress: _core.Progress | None = None) -> int:
    """Receive a MODE E transfer: on the cached connections and on new ones accepted from the listener,
    until as many EODs as the EOF block announced have arrived. Returns the bytes written."""
    lock = threading.Lock()
    state = {"eods": 0, "expected": None, "bytes": 0, "error": None}
    done = threading.Event()
    wake: list[socket.socket] = []  # a socket pair that lets a reader thread end the accept loop at once

    def finish() -> None:
        done.set()
        if wake:
            try:
                wake[1].send(b"x")
            except OSError:
                pass
    keep: list[socket.socket] = []

    def read(conn: socket.socket, fresh: bool = False) -> None:
        try:
            if fresh and secure is not None:
                conn = secure(conn, False) or conn
            n, eod, expected, closed, _end = _core.modee_receive(conn.fileno(), f.fileno(), base, progress=progress)
        except (RuntimeError, OSError, DataError) as exc:
            with lock:
                state["error"] = exc
            finish()
            conn.close()
            return
        with lock:
            state["bytes"] += n
            if eod:
                state["eods"] += 1
            if expected >= 0:
                state["expected"] = expected
            if state["expected"] is not None and state["eods"] >= state["expected"]:
                finish()
            if not closed and eod:
                keep.append(conn)
            else:
                conn.close()

    import select
    import time

    pending, channels.conns = channels.conns, []
    channels.live = [passive.sock, *pending]
    if len(pending) == 1:
        # One cached stream (globus-url-copy -fast with -p 1, the many-small-files case): when the sender
        # writes on it, read it right here; a reader thread costs ~1 ms of scheduling per file.
        if pending[0] in select.select([pending[0], passive.sock], [], [], 120.0)[0]:
            read(pending.pop())
    if not done.is_set():
        wake.extend(socket.socketpair())  # before any reader thread can finish
    readers: list[tuple[threading.Thread, socket.socket]] = [
        (threading.Thread(target=read, args=(c,), daemon=True), c) for c in pending]
    for t, _ in readers:
        t.start()

    last = time.monotonic()
    # The control connection is watched while waiting for data connections: a client that hangs up (a third
    # party whose source failed) ends the wait instead of the 120 s stall limit.
    watched = [passive.sock, *wake[:1]] + ([control] if control is not None else [])
    try:
        while not done.is_set():
            readable = select.select(watched, [], [], 1.0)[0]
            if control is not None and control in readable:
                watched.remove(control)  # a command waits for the transfer's end; look only once
                try:
                    gone = control.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    gone = True
                if gone:
                    raise DataError("the client closed the control connection; transfer abandoned")
            if passive.sock not in readable:
                if not done.is_set() and time.monotonic() - last > 120:
                    raise DataError("the MODE E transfer stalled (no data connection or EOD for 120 s)")
                continue
            try:
                conn, addr = passive.sock.accept()
            except OSError as exc:
                raise DataError(f"data listener failed: {exc}") from None
            last = time.monotonic()
            if addr[0] != passive.client_ip:
                conn.close()
                continue
            ready(conn)
            t = threading.Thread(target=read, args=(conn, True), daemon=True)
            readers.append((t, conn))
            channels.live.append(conn)
            t.start()
    finally:
        for w in wake:
            w.close()
    channels.live = []
    if state["error"]:
        channels.drop()
        for c in keep:
            c.close()
        error = state["error"]
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise error  # the disk's fault, not the connection's: the caller answers 452
        raise DataError(f"transfer aborted: {error}")
    # Connections that did not take part are still blocked in a read: they must never write into a later
    # transfer's file, so they are shut down and not reused.
    for t, c in readers:
        t.join(0.05)
        if t.is_alive():
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            t.join(5)
    with lock:
        channels.conns = list(keep)
        channels.target = ("pasv", passive.port)
    return int(state["bytes"])


def file_size(f) -> int:
    """Size of an open file."""
    return os.fstat(f.fileno()).st_size
