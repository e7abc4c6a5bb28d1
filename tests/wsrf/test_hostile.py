"""Hostile clients against the WS-RF service (issue 11): each test reproduces an attack that worked before
its fix."""

from __future__ import annotations

import socket
import ssl
import threading
import time
import urllib.request

import pytest

from wrapgen.wsrf import Server

from .conftest import ROOT
from .test_tls import grid  # noqa: F401  (the fixture: a throw-away CA, host and user certificates)

HEAT = ROOT / "services" / "heat.yaml"


def _wsdl(url: str, context: ssl.SSLContext | None = None) -> bytes:
    with urllib.request.urlopen(f"{url}/heat?wsdl", timeout=60, context=context) as r:
        return r.read()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_silent_and_trickling_connections_do_not_starve_the_service(scheme, grid, tmp_path) -> None:  # noqa: F811
    """2 workers: 4 silent TCP connections (2 x the workers), 4 more that trickle a header a byte at a time,
    and 8 more that send half a request and stop. A real client is still served, and the tricklers are cut
    off. Over HTTPS no client certificate is needed to try this, so both are tested."""
    tls = dict(tls_cert=grid["host"][0], tls_key=grid["host"][1], tls_ca=grid["dir"]) if scheme == "https" else {}
    with Server([HEAT], state=tmp_path / "s.db", workers=2, threads=4, read_timeout=2, header_timeout=3,
                **tls) as srv:
        context = None
        if scheme == "https":
            context = ssl.create_default_context(cafile=grid["ca"])
            context.load_cert_chain(*grid["user"])
        assert b"definitions" in _wsdl(srv.url, context)
        silent = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(4)]
        halves = []
        for _ in range(8):
            s = socket.create_connection(("127.0.0.1", srv.port))
            s.sendall(b"\x16\x03\x01" if scheme == "https" else b"POST /heat HTTP/1.1\r\nContent-Length: 1000\r\n\r\n<x")
            halves.append(s)
        stop = threading.Event()
        tricklers = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(4)]
        closed: list[bool] = [False] * len(tricklers)

        def trickle(i: int, s: socket.socket) -> None:
            for b in b"GET /heat?wsdl HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 1000:
                if stop.is_set():
                    return
                try:
                    s.sendall(bytes([b]))
                except OSError:
                    closed[i] = True
                    return
                time.sleep(0.2)

        threads = [threading.Thread(target=trickle, args=(i, s), daemon=True) for i, s in enumerate(tricklers)]
        for t in threads:
            t.start()
        try:
            time.sleep(1.0)
            for _ in range(5):  # a real client, repeatedly, while all of the above hold on
                assert b"definitions" in _wsdl(srv.url, context)
            for t in threads:
                t.join(30)
            assert all(closed), "a trickling client was never cut off"
        finally:
            stop.set()
            for s in silent + halves + tricklers:
                s.close()
