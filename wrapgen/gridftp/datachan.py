"""Data connections: passive listeners and active connects with the FTP-bounce check, and the MODE S
(stream) transfers. The data path of MODE S is the kernel's own: sendfile for RETR, large recv_into for STOR."""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterable

from .errors import GridFTPError

BUFFER = 4 * 1024 * 1024
ACCEPT_TIMEOUT = 60.0


class DataError(GridFTPError):
    """A data connection that could not be made or broke; the text is the 425/426 reply."""


class PeerMismatch(DataError):
    """A data connection authenticated (DCAU A) as another grid identity than the session's."""


class Passive:
    """A listening socket (PASV/EPSV) that accepts one data connection from the client's address."""

    def __init__(self, local_ip: str, client_ip: str, port_range: tuple[int, int] | None = None,
                 bufsize: int | None = None) -> None:
        self.client_ip = client_ip
        family = socket.AF_INET6 if ":" in local_ip else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        set_buffers(self.sock, bufsize)  # before listen: accepted connections inherit it, window scaling too
        ports = range(port_range[0], port_range[1] + 1) if port_range else [0]
        for port in ports:
            try:
                self.sock.bind((local_ip, port))
                break
            except OSError:
                continue
        else:
            self.sock.close()
            raise DataError(f"no free data port in {port_range[0]}-{port_range[1]}")  # type: ignore[index]
        self.sock.listen(8)
        self.ip, self.port = self.sock.getsockname()[:2]

    def connection(self, timeout: float = ACCEPT_TIMEOUT) -> socket.socket:
        """The client's data connection; connects from other addresses are closed and waited past."""
        self.sock.settimeout(timeout)
        while True:
            try:
                conn, addr = self.sock.accept()
            except socket.timeout:
                raise DataError("no data connection within the time limit") from None
            if addr[0] == self.client_ip and not _closed(conn):
                ready(conn)
                return conn
            # A stray connect (a port scanner, or an attacker elsewhere) must not take the transfer's place.
            conn.close()

    def close(self) -> None:
        """Stop listening."""
        self.sock.close()


def _closed(conn: socket.socket) -> bool:
    """Whether the peer already hung up (a connect-and-close probe) without sending anything."""
    try:
        return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


def set_buffers(sock: socket.socket, bufsize: int | None) -> None:
    """SBUF / -tcp-bs: the TCP send and receive buffers (None: the kernel's autotuning)."""
    if bufsize:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, bufsize)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, bufsize)


def connect(ip: str, port: int, timeout: float = 30.0, bufsize: int | None = None) -> socket.socket:
    """An active data connection (PORT/EPRT)."""
    try:
        s = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM)
        set_buffers(s, bufsize)  # before connect, so the window scale is negotiated for it
        s.settimeout(timeout)
        try:
            s.connect((ip, port))
        except BaseException:
            s.close()
            raise
    except OSError as exc:
        raise DataError(f"cannot open a data connection to {ip}:{port}: {exc.strerror or exc}") from None
    ready(s)
    return s


def ready(conn: socket.socket) -> None:
    """Blocking, and no Nagle delay: a small write after another (a DCAU token, then a short file's block)
    would otherwise wait for the peer's delayed ACK (40 ms)."""
    conn.settimeout(None)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def send_file(conn: socket.socket, f, offset: int, ascii: bool = False, length: int | None = None) -> int:
    """Send a file from offset (length bytes, or to the end; sendfile in binary mode); returns the bytes sent."""
    size = os.fstat(f.fileno()).st_size
    n = max(0, size - offset) if length is None else max(0, min(length, size - offset))
    if ascii:
        f.seek(offset)
        sent = 0
        left = n
        while left > 0 and (chunk := f.read(min(BUFFER, left))):
            left -= len(chunk)
            data = chunk.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            conn.sendall(data)
            sent += len(data)
        return sent
    return conn.sendfile(f, offset, n) if n else 0


def send_lines(conn: socket.socket, lines: Iterable[str]) -> None:
    """A listing, CRLF-terminated."""
    conn.sendall("".join(f"{line}\r\n" for line in lines).encode("utf-8", "surrogateescape"))


def receive_file(conn: socket.socket, f, ascii: bool = False, limit: int | None = None) -> int:
    """Write everything the connection delivers until EOF; returns the bytes received. More than `limit`
    bytes: OSError(EFBIG), with what fitted written."""
    buf = bytearray(BUFFER)
    view = memoryview(buf)
    total = 0
    held = b""  # TYPE A: a CR that ends one read may start a CRLF completed by the next
    while True:
        n = conn.recv_into(view)
        if limit is not None and total + n > limit:
            f.write(view[: max(0, limit - total)])
            raise OSError(errno.EFBIG, "the file would exceed the server's maximum file size")
        if n == 0:
            if held:
                f.write(held)
            return total
        if ascii:
            data = held + bytes(view[:n])
            held = b"\r" if data.endswith(b"\r") else b""
            f.write(data[: len(data) - len(held)].replace(b"\r\n", b"\n"))
        else:
            f.write(view[:n])
        total += n
