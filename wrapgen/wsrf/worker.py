"""The gunicorn worker class of `wrapgen serve`: gunicorn's threaded worker with read deadlines.

Sync workers (one request at a time, no read timeout) were starved by as many silent TCP connections as
there are workers (issue 11, item 3), over HTTP and HTTPS alike. Here:

- connections that send nothing wait in gunicorn's poller, not in a thread, and are closed after the
  keep-alive time (gunicorn's threaded worker does this itself);
- every read and write on a client socket has a kernel timeout (SO_RCVTIMEO/SO_SNDTIMEO, `read_timeout`): a
  client that stops mid-request (or stops reading a reply) frees its thread after that long;
- a request's headers (and the TLS handshake before them) must arrive within `header_timeout`, and its body
  at no less than MIN_RATE bytes a second after that: a client trickling a byte at a time is cut off by a
  watchdog thread that shuts its socket down (a slowloris defeats per-read timeouts, not deadlines);
- threads per worker (`--threads`) let long kernel calls and short requests (a WSDL GET) run side by side.

The deadlines come from the environment the server sets (WRAPGEN_WSRF_READ_TIMEOUT, _HEADER_TIMEOUT).
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

MIN_RATE = 64 * 1024  # bytes a second a request body must keep up, after the first read_timeout seconds


class GuardedWorker(ThreadWorker):
    """gunicorn's ThreadWorker with per-read timeouts and header/body deadlines."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = float(os.environ.get("WRAPGEN_WSRF_READ_TIMEOUT", "30"))
        self.header_timeout = float(os.environ.get("WRAPGEN_WSRF_HEADER_TIMEOUT", "20"))
        self._deadlines: dict[int, tuple[float, socket.socket]] = {}  # fd -> (deadline, socket)
        self._guard = threading.Lock()

    def init_process(self) -> None:
        threading.Thread(target=self._watch, name="wsrf-deadlines", daemon=True).start()
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        app = self.wsgi

        def guarded(environ: dict[str, Any], start_response: Any) -> Any:
            # The headers are in. A body gets a deadline by its size; the app says when it has read it.
            sock = environ.get("gunicorn.socket")
            length = environ.get("CONTENT_LENGTH") or ""
            size = int(length) if length.isdigit() else (MIN_RATE * 60 if environ.get("HTTP_TRANSFER_ENCODING") else 0)
            if sock is not None:
                if size:
                    self._set(sock, time.monotonic() + self.read_timeout + size / MIN_RATE)
                    environ["wrapgen.body_read"] = lambda: self._clear(sock)
                else:
                    self._clear(sock)
            return app(environ, start_response)

        self.wsgi = guarded

    def handle(self, conn: Any) -> Any:
        sock = conn.sock
        try:
            tv = struct.pack("ll", int(self.read_timeout), int(self.read_timeout % 1 * 1e6))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
        except OSError:
            pass
        self._set(sock, time.monotonic() + self.header_timeout)
        try:
            return super().handle(conn)
        finally:
            self._clear(sock)

    def _set(self, sock: socket.socket, deadline: float) -> None:
        try:
            fd = sock.fileno()
        except OSError:
            return
        with self._guard:
            self._deadlines[fd] = (deadline, sock)

    def _clear(self, sock: socket.socket) -> None:
        try:
            fd = sock.fileno()
        except OSError:
            return
        with self._guard:
            self._deadlines.pop(fd, None)

    def _watch(self) -> None:
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            # Under the lock: a request thread clears its descriptor (also under the lock) before the
            # descriptor can be closed and reused by another connection.
            with self._guard:
                late = [fd for fd, (deadline, _) in self._deadlines.items() if deadline < now]
                for fd in late:
                    del self._deadlines[fd]
                    # By descriptor: a TLS handshake detaches the socket object gunicorn gave us
                    try:
                        with socket.socket(fileno=os.dup(fd)) as d:
                            d.shutdown(socket.SHUT_RDWR)  # the blocked read wakes up, gunicorn closes
                    except OSError:
                        pass
