"""Listening sockets for wrapgen's servers: bound before anything starts, port 0 for a free one."""

from __future__ import annotations

import socket

from .errors import WrapgenError


def listen(host: str, port: int, error: type[WrapgenError] = WrapgenError, backlog: int = 128) -> socket.socket:
    """A listening TCP socket on host:port (IPv6 when host has a ':'); error names the address on failure."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise error(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(backlog)
    return sock
