"""WS-RF services: wrapgen vs a bare spyne application and a raw HTTP POST, on the same gunicorn, in one run.

    python bench/soap.py [--seconds 3] [--workers 2] [--n 1000000]

Rows:
- small call: dadd(a, b) requests/s from 1 and 2 client processes (pre-built envelopes over
  http.client). wrapgen runs every call in an isolated kernel worker; the spyne peer calls the same
  Fortran inside the server worker.
- array round trip: daxpy1 with x and y of n float64 (16 MB in, 8 MB out at n=1e6): wrapgen's
  NDArray (base64) vs a raw POST of the same bytes; spyne's Array(Double) is measured at n/100 and
  its per-element cost scaled to n.
- resource: create -> start -> wait -> fetch -> destroy through wrapgen.connect.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def envelope(body: str) -> bytes:
    return f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body>{body}</soap:Body></soap:Envelope>'.encode()


def start_peers(workers: int) -> tuple[subprocess.Popen, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    env = {**os.environ, "WRAPGEN_BENCH_ROOT": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"fd://{sock.fileno()}", "--workers",
                             str(workers), "--worker-class", "sync", "--timeout", "0", "--log-level", "warning",
                             "--chdir", str(ROOT / "bench" / "peers"), "soap_peers:application"],
                            pass_fds=[sock.fileno()], env=env)
    port = sock.getsockname()[1]
    sock.close()
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/spyne?wsdl", timeout=5).read()
            return proc, port
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the peer server did not start")


def _hammer(args: tuple[int, str, bytes, str, float]) -> int:
    port, path, body, action, seconds = args
    count = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("POST", path, body, {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action})
        r = c.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError(f"{path}: HTTP {r.status}: {data[:300]!r}")
        c.close()
        count += 1
    return count


def throughput(port: int, path: str, body: bytes, action: str, clients: int, seconds: float) -> float:
    _hammer((port, path, body, action, 0.3))  # warm the workers up
    with mp.get_context("fork").Pool(clients) as pool:
        counts = pool.map(_hammer, [(port, path, body, action, seconds)] * clients)
    return sum(counts) / seconds


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[float, bytes]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t = time.perf_counter()
    c.request("POST", path, body, headers)
    r = c.getresponse()
    data = r.read()
    elapsed = time.perf_counter() - t
    if r.status != 200:
        raise RuntimeError(f"{path}: HTTP {r.status}: {data[:300]!r}")
    return elapsed, data


def best(f, repeat: int) -> float:
    return min(f() for _ in range(repeat))



def _need_spyne() -> None:
    if sys.version_info >= (3, 12):
        raise SystemExit("bench/soap.py: its peer, spyne 2.14, does not import on Python 3.12+ (spyne#700); run it "
                         "with Python 3.11 (the default `make bench` venv)")

def main() -> int:
    _need_spyne()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()

    import wrapgen
    from wrapgen.wsrf import Server

    peers, pport = start_peers(a.workers)
    rows: list[tuple[str, str, float, str, float]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp, \
                Server([ROOT / "services" / "blas1.yaml"], state=Path(tmp) / "s.db", workers=a.workers,
                       max_request=512 * 1024 * 1024, inline_limit=1 << 30) as srv:
            port = srv.port
            ours_small = envelope('<b:dadd xmlns:b="urn:wrapgen:blas1"><b:a>1.5</b:a><b:b>2.25</b:b></b:dadd>')
            spyne_small = envelope('<s:dadd xmlns:s="urn:bench:spyne"><s:a>1.5</s:a><s:b>2.25</s:b></s:dadd>')
            for clients in (1, 2):
                ours = peer = 0.0
                for _ in range(a.repeat):  # alternated, best of: the machine is shared and noisy
                    ours = max(ours, throughput(port, "/blas1", ours_small,
                                                '"urn:wrapgen:blas1/blas1PortType/daddRequest"', clients, a.seconds))
                    peer = max(peer, throughput(pport, "/spyne", spyne_small, '"dadd"', clients, a.seconds))
                rows.append((f"dadd, {clients} client{'s' if clients > 1 else ''}", f"{ours:.0f} req/s", ours,
                             f"{peer:.0f} req/s (spyne)", peer))

            n = a.n
            rng = np.random.default_rng(0)
            x, y = rng.standard_normal(n), rng.standard_normal(n)

            def nd(v: np.ndarray) -> str:
                return (f"<b:dtype>float64</b:dtype><b:shape>{len(v)}</b:shape><b:order>C</b:order>"
                        f"<b:data>{base64.b64encode(v.tobytes()).decode()}</b:data>")

            big = envelope(f'<b:daxpy1 xmlns:b="urn:wrapgen:blas1"><b:a>2.0</b:a><b:x>{nd(x)}</b:x>'
                           f"<b:y>{nd(y)}</b:y></b:daxpy1>")
            expected = 2.0 * x + y
            hdr = {"Content-Type": "text/xml; charset=utf-8"}

            def ours_array() -> float:
                t, data = post(port, "/blas1", big, hdr)
                from lxml import etree

                env = etree.fromstring(data, etree.XMLParser(huge_tree=True))
                got = np.frombuffer(base64.b64decode(env.findtext(".//{urn:wrapgen:blas1}data")), "<f8")
                assert np.allclose(got, expected)
                return t

            raw_body = x.tobytes() + y.tobytes()

            def raw_array() -> float:
                t, data = post(pport, "/raw?2.0", raw_body, {"Content-Type": "application/octet-stream"})
                assert np.allclose(np.frombuffer(data, "<f8"), expected)
                return t

            ours_t, raw_t = best(ours_array, a.repeat), best(raw_array, a.repeat)
            rows.append((f"daxpy1 round trip, n={n:g}", f"{ours_t * 1e3:.0f} ms", 1 / ours_t,
                         f"{raw_t * 1e3:.0f} ms (raw POST)", 1 / raw_t))
            m = max(n // 100, 10)
            items = "".join(f"<s:double>{float(v)!r}</s:double>" for v in x[:m])
            items_y = "".join(f"<s:double>{float(v)!r}</s:double>" for v in y[:m])
            spy = envelope(f'<s:daxpy1 xmlns:s="urn:bench:spyne"><s:a>2.0</s:a><s:x>{items}</s:x>'
                           f"<s:y>{items_y}</s:y></s:daxpy1>")
            spy_t = best(lambda: post(pport, "/spyne", spy, {**hdr, "SOAPAction": '"daxpy1"'})[0], a.repeat) * n / m
            rows.append((f"daxpy1 round trip, n={n:g}", f"{ours_t * 1e3:.0f} ms", 1 / ours_t,
                         f"{spy_t:.1f} s (spyne Array(Double), scaled from n={m:g})", 1 / spy_t))

            blas = wrapgen.connect(f"{srv.url}/blas1")

            def lifecycle() -> float:
                t = time.perf_counter()
                r = blas.dadd.create(a=1.0, b=2.0)
                r.start()
                r.wait(60, interval=0.005)
                assert r.result() == 3.0
                r.destroy()
                return time.perf_counter() - t

            lat = best(lifecycle, a.repeat * 2)
            rows.append(("create->start->fetch->destroy", f"{lat * 1e3:.0f} ms", 0.0, "", 0.0))
    finally:
        peers.terminate()
        peers.wait()

    print(f"WS-RF services, {a.workers} gunicorn workers, loopback, best of {a.repeat} (ratio > 1: wrapgen faster)")
    print(f"{'row':<34} {'wrapgen':>12}  {'peer':<44} {'ours/peer':>9}")
    for name, ours_s, ours_v, peer_s, peer_v in rows:
        ratio = f"{ours_v / peer_v:.2f}" if peer_v else ""
        print(f"{name:<34} {ours_s:>12}  {peer_s:<44} {ratio:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
