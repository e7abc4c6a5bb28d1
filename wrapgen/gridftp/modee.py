"""MODE E (GFD.020 extended block mode) transfers for the server: N parallel data connections, kept open
between transfers (the `-fast` channel cache), the sending side connecting. The block I/O runs in the
native core (wrapgen._core.modee_send / modee_receive) with the GIL released; this module only decides
which connections carry a transfer and when it is complete."""

from __future__ import annotations

import errno
import os
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import _core
from .datachan import DataError, Passive, PeerMismatch, connect, ready

MAX_PARALLEL = 64
BLOCK = 1 << 20
#: Blocks of a transfer over several streams (copied, not sendfile'd; see native/modee.cpp): GCT's block size, the
#: fastest for -p 8 in bench/gridftp.py.
BLOCK_PARALLEL = 1 << 18


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
         secure: Secure | None = None, block_base: int | None = None, progress: _core.Progress | None = None,
         timeout: float | None = None) -> int:
    """Send a file range as MODE E; the sender connects (to the PORT address) or reuses cached connections.
    Block headers carry file offsets (block_base=None) or offsets from block_base (ESTO's adjusted module).
    timeout: a data connection on which nothing can be sent for that long ends the transfer."""
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
        kernel_timeouts(conn, timeout)
        if secure is not None:
            try:
                conn = secure(conn, True) or conn
            except DataError:
                conn.close()
                channels.drop()
                raise
            except OSError as exc:
                conn.close()
                channels.drop()
                raise DataError(f"data channel authentication failed: {exc}") from None
            kernel_timeouts(conn, timeout)
        channels.conns.append(conn)
    use = channels.conns[:parallel]
    channels.live = list(use)
    try:
        return _core.modee_send([c.fileno() for c in use], f.fileno(), offset, length,
                                BLOCK if len(use) == 1 else BLOCK_PARALLEL,
                                offset if block_base is None else block_base, progress)
    except RuntimeError as exc:
        channels.drop()
        raise DataError(f"transfer aborted: {exc}") from None
    finally:
        channels.live = []


def kernel_timeouts(conn: socket.socket, seconds: float | None) -> None:
    """SO_RCVTIMEO/SO_SNDTIMEO: the native data path (which ignores Python's socket timeouts) gets EAGAIN
    after `seconds` without progress on the connection, and ends the transfer."""
    if not seconds:
        return
    tv = struct.pack("ll", int(seconds), int((seconds % 1) * 1e6))
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)


class _Receive:
    """One MODE E upload: its reader threads, the connections they read and what they found.

    Every reader writes through its own duplicate of the file's descriptor and closes it when it ends, and
    the transfer does not return before every reader has ended: a reader left behind can never write
    through a descriptor number the file no longer owns (the number may belong to another session's file
    by then).
    """

    def __init__(self, f, base: int, max_offset: int, secure: Secure | None, progress: _core.Progress,
                 timeout: float | None) -> None:
        self.f, self.base, self.max_offset, self.secure = f, base, max_offset, secure
        self.progress, self.timeout = progress, timeout
        self.lock = threading.Lock()
        self.eods, self.expected, self.bytes = 0, None, 0
        self.error: BaseException | None = None
        self.refused: str | None = None  # the last connection dropped for failing DCAU
        self.done = threading.Event()
        # Lets a reader end the accept loop at once; made only when readers run in threads (the one-stream
        # fast path, every file of a many-small-files copy, reads inline and needs none).
        self.wake: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.socks: list[socket.socket] = []  # every connection of this transfer (to shut down on abort)
        self.keep: list[socket.socket] = []  # connections that ended with EOD, cached for the next transfer

    def finish(self) -> None:
        self.done.set()
        if self.wake:
            try:
                self.wake[1].send(b"x")
            except OSError:
                pass

    def start(self, conn: socket.socket, fresh: bool) -> None:
        """Read conn in a thread of its own (fresh: a new connection, authenticated first)."""
        with self.lock:
            self.socks.append(conn)
        t = threading.Thread(target=self.read, args=(conn, fresh), name="gridftp-modee-read", daemon=True)
        self.threads.append(t)
        t.start()

    def read(self, conn: socket.socket, fresh: bool) -> None:
        """Receive blocks on one connection until its EOD (in the calling thread)."""
        if fresh:
            kernel_timeouts(conn, self.timeout)
            if self.secure is not None:
                try:
                    relay = self.secure(conn, False)
                except PeerMismatch as exc:
                    # A verified grid identity other than the session's: an authentication failure, not
                    # noise. The transfer ends with it (425).
                    with self.lock:
                        self.error = self.error or exc
                    self.finish()
                    conn.close()
                    return
                except (DataError, OSError) as exc:
                    # A connection that fails DCAU before presenting anyone (a port scanner's connect and
                    # close, garbage, silence) is dropped; the transfer waits for the client's real ones.
                    with self.lock:
                        self.refused = str(exc)
                    conn.close()
                    return
                if relay is not None:
                    with self.lock:
                        self.socks.append(relay)
                    kernel_timeouts(relay, self.timeout)
                    conn = relay
        fd = os.dup(self.f.fileno())
        try:
            n, eod, expected, closed, _end = _core.modee_receive(conn.fileno(), fd, self.base, self.max_offset,
                                                                  progress=self.progress)
        except (RuntimeError, OSError) as exc:
            with self.lock:
                if self.error is None:
                    self.error = exc
            self.finish()
            conn.close()
            return
        finally:
            os.close(fd)
        with self.lock:
            self.bytes += n
            if eod:
                self.eods += 1
            if expected >= 0:
                self.expected = expected
            if self.expected is not None and self.eods >= self.expected:
                self.finish()
            if not closed and eod:
                self.keep.append(conn)
            else:
                conn.close()

    def end(self) -> None:
        """Stop every reader still running (shut its connection down) and wait for all of them."""
        self.finish()
        for t in self.threads:
            t.join(0.05)
        if any(t.is_alive() for t in self.threads):
            with self.lock:
                socks = [c for c in self.socks if c not in self.keep]
            for c in socks:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for t in self.threads:
            t.join()  # a shut-down connection ends its reader at once
        for w in self.wake:
            w.close()


def receive(channels: Channels, passive: Passive, f, base: int = 0, secure: Secure | None = None,
            control: socket.socket | None = None, progress: _core.Progress | None = None,
            max_offset: int = 1 << 62, timeout: float | None = 120.0) -> int:
    """Receive a MODE E transfer: on the cached connections and on new ones accepted from the listener,
    until as many EODs as the EOF block announced have arrived. Returns the bytes written.

    max_offset: no block may end beyond base + max_offset (the server's maximum file size). timeout: the
    transfer ends when no data arrives for that long (and each connection when it is silent that long)."""
    import select
    import time

    if progress is None:
        progress = _core.Progress()
    rx = _Receive(f, base, max(0, max_offset), secure, progress, timeout)
    pending, channels.conns = channels.conns, []
    channels.live = [passive.sock, *pending]
    try:
        if len(pending) == 1:
            # One cached stream (globus-url-copy -fast with -p 1, the many-small-files case): when the
            # sender writes on it, read it right here; a reader thread costs ~1 ms of scheduling per file.
            if pending[0] in select.select([pending[0], passive.sock], [], [], timeout)[0]:
                conn = pending.pop()
                rx.socks.append(conn)
                rx.read(conn, False)
        if not rx.done.is_set():
            rx.wake.extend(socket.socketpair())  # before any reader thread can finish
        for c in pending:
            rx.start(c, False)
        last, moved = time.monotonic(), progress.bytes
        # The control connection is watched while waiting for data connections: a client that hangs up (a
        # third party whose source failed) ends the wait instead of the stall limit.
        watched = [passive.sock, *rx.wake[:1]] + ([control] if control is not None else [])
        while not rx.done.is_set():
            readable = select.select(watched, [], [], 1.0)[0]
            if control is not None and control in readable:
                watched.remove(control)  # a command waits for the transfer's end; look only once
                try:
                    gone = control.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    gone = True
                if gone:
                    raise DataError("the client closed the control connection; transfer abandoned")
            if progress.bytes != moved:
                last, moved = time.monotonic(), progress.bytes
            if passive.sock not in readable:
                if not rx.done.is_set() and timeout and time.monotonic() - last > timeout:
                    why = f" (a data connection was refused: {rx.refused})" if rx.refused else ""
                    raise DataError(f"the MODE E transfer stalled: no data for {timeout:g} s{why}")
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
            channels.live.append(conn)
            rx.start(conn, True)
    except BaseException:
        rx.error = rx.error or DataError("transfer abandoned")
        raise
    finally:
        channels.live = []
        if rx.error is not None:
            rx.keep.clear()  # nothing of a failed transfer is reused
        rx.end()  # before the caller may close f: no reader outlives the transfer
        if rx.error is not None:
            with rx.lock:
                for c in rx.socks:
                    c.close()
            channels.drop()
    if rx.error is not None:
        error = rx.error
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise error  # the disk's fault, not the connection's: the caller answers 452
        if isinstance(error, DataError):
            raise error
        if isinstance(error, RuntimeError) and "allowed file size" in str(error):
            raise OSError(errno.EFBIG, "the file would exceed the server's maximum file size")
        raise DataError(f"transfer aborted: {error}")
    channels.conns = list(rx.keep)
    channels.target = ("pasv", passive.port)
    return int(rx.bytes)


def file_size(f) -> int:
    """Size of an open file."""
    return os.fstat(f.fileno()).st_size
