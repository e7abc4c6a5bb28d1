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
    """The state database on a 16 MiB tmpfs (room for the database and its WAL: 4 MiB was sometimes full before
    the filler was made), filled while a computation runs: its outcome is kept in memory
    and recorded once space is freed; the executor's reaper survives (a later crash is still recorded)."""
    import subprocess

    import numpy as np

    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], capture_output=True, text=True)
    assert r.returncode == 0, f"mounting a tmpfs needs root (CI runs as root): {r.stderr}"
    try:
        with Server([HEAT, ROOT / "tests" / "bind" / "kernels" / "misbehave.yaml"], state=mnt / "s.db",
                    workers=1) as srv:
            heat = wrapgen.connect(f"{srv.url}/heat")
            u = plate(200)
            expected = u.copy(order="F")
            wrapgen.load(HEAT).heat_step(expected, 1.0, 0.1, 1.0, 20000)
            res = heat.heat_step.create(u=u, alpha=1.0, dt=0.1, dx=1.0, nsteps=20000)
            res.start()
            filler = mnt / "filler"
            with open(filler, "wb") as f:  # the disk is full before the computation ends
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
            err, deadline = "", time.monotonic() + 60
            while "cannot record the outcome" not in err and time.monotonic() < deadline:
                time.sleep(0.2)  # the computation ends meanwhile and cannot record its outcome
                err += capfd.readouterr().err
            assert "cannot record the outcome" in err, err  # it ended, and its outcome was kept
            filler.unlink()
            assert res.wait(60) == "Succeeded"
            np.testing.assert_array_equal(res.result(), expected)
            bad = wrapgen.connect(f"{srv.url}/misbehave")
            crash = bad.do_segv.create(x=np.zeros(2))
            crash.start()
            assert crash.wait(60) == "Failed"  # the reaper is alive
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


# --- 10 and 11: kill -9, orphans and restarts ------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    import os

    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == pid:
                out.append(int(d))
    return out


def _tree(pid: int) -> list[int]:
    out = [pid]
    for c in _children(pid):
        out += _tree(c)
    return out


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return True


def _serve(state, port: int):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-P", "-m", "wrapgen", "serve", str(HEAT), "--state", str(state),
                             "--port", str(port), "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()
    assert "serving heat" in line, line + proc.stderr.read() if proc.poll() is not None else line
    return proc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_power_cut_leaves_no_resource_running_forever(tmp_path) -> None:
    import os
    import signal

    state = tmp_path / "s.db"
    port = _free_port()
    serve = _serve(state, port)
    try:
        heat = wrapgen.connect(f"http://127.0.0.1:{port}/heat")
        res = heat.heat_step.create(u=plate(300), alpha=1.0, dt=0.1, dx=1.0, nsteps=2_000_000_000)
        res.start()
        deadline = time.monotonic() + 30
        while len(_tree(serve.pid)) < 5 and time.monotonic() < deadline:  # serve, gunicorn x2, executor, child
            time.sleep(0.1)
        everything = _tree(serve.pid)
        for pid in everything:  # everything dies at once, as in a power cut
            os.kill(pid, signal.SIGKILL)
        serve.wait()
        deadline = time.monotonic() + 10
        while not all(_gone(p) for p in everything) and time.monotonic() < deadline:
            time.sleep(0.05)
        # the computation runs in its own session under the executor: it was in the tree too
        assert all(_gone(p) for p in everything)
    finally:
        if serve.poll() is None:
            serve.kill()
    port = _free_port()
    again = _serve(state, port)  # the same state: the lock of the dead server is not in the way
    try:
        status = _status(f"http://127.0.0.1:{port}", res)
        assert status[0] == "Failed" and "lost: the computation's process is gone" in status[1], status
    finally:
        again.terminate()
        again.wait(30)


def _status(url: str, res) -> tuple[str, str]:
    """Status and Error resource properties of res, read from the server at url."""
    body = etree.Element(N.q(N.RP, "GetResourcePropertyDocument"))
    key = etree.Element(N.q("urn:wrapgen:heat", "ResourceKey"))
    key.text = res.key
    status, env = soap(f"{url}/heat/heat_step", body, N.action("GetResourcePropertyDocument"), [key])
    assert status == 200, etree.tostring(env)
    rns = "urn:wrapgen:heat:heat_step"
    return env.findtext(f".//{{{rns}}}Status"), env.findtext(f".//{{{rns}}}Error") or ""


def test_killing_serve_takes_its_children_and_a_new_serve_takes_over(tmp_path) -> None:
    import os
    import signal

    state = tmp_path / "s.db"
    port = _free_port()
    serve = _serve(state, port)
    children = []
    try:
        deadline = time.monotonic() + 10
        while len(_children(serve.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        children = _tree(serve.pid)[1:]
        assert len(children) >= 3  # gunicorn master, its worker, the executor
        second = _serve_fails(state)
        assert f"is being served by pid {serve.pid}" in second, second
        os.kill(serve.pid, signal.SIGKILL)
        serve.wait()
        deadline = time.monotonic() + 30
        while not all(_gone(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(_gone(p) for p in children), "an orphan outlived its wrapgen serve"
    finally:
        for p in children:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
    port = _free_port()
    again = _serve(state, port)
    try:
        assert b"definitions" in _wsdl(f"http://127.0.0.1:{port}")
    finally:
        again.terminate()
        again.wait(30)


def _serve_fails(state) -> str:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-P", "-m", "wrapgen", "serve", str(HEAT), "--state", str(state),
                        "--port", str(_free_port()), "--workers", "1"], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    return r.stderr


def test_a_computation_that_dies_after_its_executor_is_marked_lost(tmp_path) -> None:
    import os
    import signal

    with Server([HEAT], state=tmp_path / "s.db", workers=1, sweep_interval=0.2) as srv:
        srv.sweeper.reconcile_every = 0.5
        heat = wrapgen.connect(f"{srv.url}/heat")
        res = heat.heat_step.create(u=plate(300), alpha=1.0, dt=0.1, dx=1.0, nsteps=2_000_000_000)
        res.start()
        executor = srv._executor.pid
        deadline = time.monotonic() + 30
        while not _children(executor) and time.monotonic() < deadline:
            time.sleep(0.05)
        (child,) = _children(executor)
        os.kill(executor, signal.SIGKILL)
        time.sleep(1.0)
        assert res.status == "Running"  # the computation itself is still alive: nothing is lost yet
        os.kill(child, signal.SIGKILL)
        assert res.wait(30) == "Failed"
        assert "lost: the computation's process is gone" in _status(srv.url, res)[1]


# --- 12 and 14: long direct calls, download space -------------------------------------------------------------------
MISBEHAVE = ROOT / "tests" / "bind" / "kernels" / "misbehave.yaml"


def test_long_direct_calls_neither_starve_short_ones_nor_run_forever(tmp_path) -> None:
    import numpy as np

    with Server([HEAT, MISBEHAVE], state=tmp_path / "s.db", workers=1, threads=4, call_timeout=1.0) as srv:
        bad = wrapgen.connect(f"{srv.url}/misbehave")
        errors: list[BaseException] = []

        def spin() -> None:
            try:
                bad.spin(np.zeros(1))
            except BaseException as exc:  # noqa: BLE001 (kept for the assertion below)
                errors.append(exc)

        spinners = [threading.Thread(target=spin) for _ in range(2)]
        for t in spinners:
            t.start()
        time.sleep(0.3)
        assert b"definitions" in _wsdl(srv.url)  # served while both long calls hold their threads
        assert any(t.is_alive() for t in spinners)
        for t in spinners:
            t.join(60)
        assert len(errors) == 2
        for exc in errors:
            assert "longer than this server's 1 s limit for a direct call" in str(exc)
            assert "Create_spin" in str(exc)


def test_download_space_has_a_quota_and_a_fetch_frees_it(tmp_path) -> None:
    import base64
    import re

    import requests

    with Server([HEAT], state=tmp_path / "s.db", workers=1, inline_limit=100, blob_quota=2000) as srv:
        u = plate(8)  # 512 bytes of result each time: over the inline limit, so offered as a download
        body = (f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
                f'<h:heat_step xmlns:h="urn:wrapgen:heat"><h:u><h:dtype>float64</h:dtype><h:shape>8</h:shape>'
                f'<h:shape>8</h:shape><h:order>F</h:order><h:data>{base64.b64encode(u.tobytes(order="F")).decode()}'
                f'</h:data></h:u><h:alpha>1.0</h:alpha><h:dt>0.1</h:dt><h:dx>1.0</h:dx></h:heat_step></soap:Body>'
                f'</soap:Envelope>')
        hrefs = []
        for _ in range(3):
            r = requests.post(f"{srv.url}/heat", data=body, headers={"Content-Type": "text/xml"}, timeout=60)
            assert r.status_code == 200, r.text
            hrefs += re.findall(r"http://[^<\"]+/blob/[A-Za-z0-9_-]+", r.text)
        r = requests.post(f"{srv.url}/heat", data=body, headers={"Content-Type": "text/xml"}, timeout=60)
        assert r.status_code == 500 and "of the 2000 allowed are held by earlier results" in r.text
        got = requests.get(hrefs[0], timeout=60)
        assert got.status_code == 200 and len(got.content) == 512
        assert requests.get(hrefs[0], timeout=60).status_code == 404  # handed out once
        r = requests.post(f"{srv.url}/heat", data=body, headers={"Content-Type": "text/xml"}, timeout=60)
        assert r.status_code == 200  # the fetch freed its space


# --- 25: odd values get clear answers, never a traceback -------------------------------------------------------------
def _raw(port: int, data: bytes) -> bytes:
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(data)
    out = b""
    try:
        while chunk := s.recv(65536):
            out += chunk
    except OSError:
        pass
    s.close()
    return out


def test_odd_values_get_clear_answers_and_no_traceback(tmp_path) -> None:
    log = tmp_path / "server.log"
    with Server([HEAT], state=tmp_path / "s.db", workers=1, read_timeout=1, header_timeout=2, log_file=str(log)) as srv:
        env = ('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><h:heat_step '
               'xmlns:h="urn:wrapgen:heat"><h:u><h:dtype>float64</h:dtype><h:shape>0</h:shape><h:shape>'
               '2305843009213693952</h:shape><h:order>F</h:order><h:data></h:data></h:u><h:alpha>1.0</h:alpha>'
               '<h:dt>0.1</h:dt><h:dx>1.0</h:dx></h:heat_step></soap:Body></soap:Envelope>')
        out = _raw(srv.port, f"POST /heat HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: {len(env)}"
                             f"\r\nConnection: close\r\n\r\n{env}".encode())
        assert b"500 " in out.split(b"\r\n")[0] and b"NDArray shape entry 2305843009213693952 is over" in out
        head = b"POST /heat HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n" \
               b"Connection: close\r\n\r\n"
        out = _raw(srv.port, head + b"-5\r\nabc\r\n0\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 400") and b"could not be read" in out
        out = _raw(srv.port, head + b"100000000000000000000\r\nabc")  # then silence: the read deadline ends it
        assert out == b"" or out.startswith(b"HTTP/1.1 400")
        heat = wrapgen.connect(f"{srv.url}/heat")
        with heat.heat_step.create(u=plate(), alpha=1.0, dt=0.1, dx=1.0) as res:
            body = etree.Element(N.q(N.RL, "SetTerminationTime"))
            etree.SubElement(body, N.q(N.RL, "RequestedLifetimeDuration")).text = "P99999999999Y"
            key = etree.Element(N.q("urn:wrapgen:heat", "ResourceKey"))
            key.text = res.key
            status, reply = soap(res.address, body, N.action("SetTerminationTime"), [key])
            assert status == 500 and "is longer than 1000 years" in etree.tostring(reply).decode()
            assert res.status == "Created"  # and the resource reads as before
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
