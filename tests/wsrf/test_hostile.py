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


# --- 7 and 13: notifications go only where they may, concurrently -------------------------------------------------
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

from lxml import etree  # noqa: E402

import wrapgen  # noqa: E402
from wrapgen.wsrf import ns as N  # noqa: E402

from .conftest import soap  # noqa: E402
from .test_stateless import plate  # noqa: E402


def _subscribe(res, address: str) -> tuple[int, object]:
    body = etree.Element(N.q(N.WSNT, "Subscribe"), nsmap={"r": "urn:wrapgen:heat:heat_step"})
    ref = etree.SubElement(body, N.q(N.WSNT, "ConsumerReference"))
    etree.SubElement(ref, N.q(N.WSA, "Address")).text = address
    key = etree.Element(N.q("urn:wrapgen:heat", "ResourceKey"))
    key.text = res.key
    return soap(res.address, body, N.action("Subscribe"), [key])


class _Recorder:
    """A consumer endpoint on 127.0.0.1 that records what it is sent; optionally redirects or holds requests."""

    def __init__(self, redirect: str | None = None, hold: threading.Event | None = None) -> None:
        self.got: list[bytes] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                outer.got.append(self.rfile.read(int(self.headers["Content-Length"])))
                if hold is not None:
                    hold.wait(60)
                if redirect:
                    self.send_response(302)
                    self.send_header("Location", redirect)
                else:
                    self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/consumer"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


def test_consumers_on_internal_addresses_are_refused_by_default(tmp_path) -> None:
    inside = _Recorder()
    with Server([HEAT], state=tmp_path / "s.db", workers=1) as srv:
        heat = wrapgen.connect(f"{srv.url}/heat")
        with heat.heat_step.create(u=plate(), alpha=1.0, dt=0.1, dx=1.0) as res:
            for address in (inside.url, "http://localhost:9/x", "http://169.254.169.254/latest/meta-data",
                            "http://10.1.2.3/x", "http://[::1]:9/x", "http://0.0.0.0:9/x"):
                status, env = _subscribe(res, address)
                fault = env.find(f".//{{{N.WSNT}}}SubscribeCreationFailedFault")
                assert status == 500 and fault is not None, address
                assert "--notify-allow" in etree.tostring(env).decode()
            res.start()
            res.wait(60)
    inside.close()
    assert inside.got == []  # nothing ever reached the internal service


def test_redirects_are_not_followed_and_slow_consumers_do_not_delay_others(tmp_path) -> None:
    target = _Recorder()
    redirector = _Recorder(redirect=target.url)
    hold = threading.Event()
    slow = [_Recorder(hold=hold) for _ in range(10)]
    fast = _Recorder()
    try:
        with Server([HEAT], state=tmp_path / "s.db", workers=1, notify_allow=["127.0.0.0/8"]) as srv:
            heat = wrapgen.connect(f"{srv.url}/heat")
            a = heat.heat_step.create(u=plate(), alpha=1.0, dt=0.1, dx=1.0)
            for consumer in slow + [redirector]:
                assert _subscribe(a, consumer.url)[0] == 200
            a.start()
            a.wait(60)
            deadline = time.monotonic() + 20
            while sum(bool(s.got) for s in slow) < 10 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert all(s.got for s in slow)  # ten deliveries under way at once, all held by their consumers
            b = heat.heat_step.create(u=plate(), alpha=1.0, dt=0.1, dx=1.0)
            assert _subscribe(b, fast.url)[0] == 200
            b.start()
            deadline = time.monotonic() + 20
            while not fast.got and time.monotonic() < deadline:
                time.sleep(0.05)
            assert fast.got, "another client's notification waited behind the slow consumers"
            assert redirector.got and not target.got  # the 302 was not followed
            hold.set()
            a.destroy()
            b.destroy()
    finally:
        hold.set()
        for r in [target, redirector, fast, *slow]:
            r.close()


# --- 6: a full disk under the state database ------------------------------------------------------------------------
def test_a_result_that_cannot_be_recorded_is_kept_until_the_disk_has_room(tmp_path, capfd) -> None:
    """The state database on a 4 MiB tmpfs, filled while a computation runs: its outcome is kept in memory
    and recorded once space is freed; the executor's reaper survives (a later crash is still recorded)."""
    import subprocess

    import numpy as np

    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True, text=True)
    assert r.returncode == 0, f"mounting a tmpfs needs root (CI runs as root): {r.stderr}"
    try:
        with Server([HEAT, ROOT / "tests" / "bind" / "kernels" / "misbehave.yaml"], state=mnt / "s.db",
                    workers=1) as srv:
            heat = wrapgen.connect(f"{srv.url}/heat")
            u = plate(200)
            expected = u.copy(order="F")
            wrapgen.load(HEAT).heat_step(expected, 1.0, 0.1, 1.0, 3000)
            res = heat.heat_step.create(u=u, alpha=1.0, dt=0.1, dx=1.0, nsteps=3000)
            res.start()
            filler = mnt / "filler"
            with open(filler, "wb") as f:  # the disk is full before the computation ends
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
            time.sleep(3)  # the computation ends meanwhile and cannot record its outcome
            assert res.status == "Running"
            assert "cannot record the outcome" in capfd.readouterr().err  # it ended, and its outcome was kept
            filler.unlink()
            assert res.wait(60) == "Succeeded"
            np.testing.assert_array_equal(res.result(), expected)
            bad = wrapgen.connect(f"{srv.url}/misbehave")
            crash = bad.do_segv.create(x=np.zeros(2))
            crash.start()
            assert crash.wait(60) == "Failed"  # the reaper is alive
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
