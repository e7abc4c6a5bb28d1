"""Stage in, compute, stage out against real servers (ours and GCT's GridFTP, an HTTP server): every byte checked
end to end with sha256, a damaged byte caught, retried and counted, unreachable servers retried then reported."""

from __future__ import annotations

import functools
import hashlib
import http.server
import sqlite3
import threading
import time

import numpy as np
import pytest

from wrapgen.gridftp.server import Server
from wrapgen.pipeline.cache import sha256_file
from wrapgen.pipeline.engine import run

from .conftest import write

HEAT = """\
pipeline: staged
defaults: {{retries: {retries}}}
steps:
  field: {{stage_in: "{src}"{sha}}}
  heat:
    compute: heat.yaml#heat_step
    inputs: {{u: field}}
    params: {{alpha: 0.2, dt: 1.0, dx: 1.0, nsteps: 20}}
    outputs: [u]
  save: {{stage_out: heat.u, to: "{dst}"}}
"""


def field() -> np.ndarray:
    u = np.zeros((24, 24))
    u[12, 12] = 500.0
    return u


def reference() -> np.ndarray:
    import wrapgen

    u = np.asfortranarray(field())
    wrapgen.load(__import__("pathlib").Path(__file__).resolve().parents[2] / "services" / "heat.yaml").heat_step(
        u, 0.2, 1.0, 1.0, 20)
    return u


def text(src: str, dst: str, sha: str | None = None, retries: int = 2) -> str:
    return HEAT.format(src=src, dst=dst, sha=f", sha256: {sha}" if sha else "", retries=retries)


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    np.save(root / "u.npy", field())
    with Server(root, anonymous=True, anonymous_access="full") as srv:
        yield f"ftp://127.0.0.1:{srv.port}", root


def test_stage_in_compute_stage_out_over_gridftp(workdir, site) -> None:
    url, root = site
    p = write(workdir / "p.yaml", text(f"{url}/u.npy", f"{url}/results/u.npy"))
    r = run(p)
    assert r.ok, [n.cause for n in r.nodes.values()]
    assert np.array_equal(np.load(root / "results" / "u.npy"), reference())
    assert r.staging["files"] == 2 and r.staging["verified"] == 2 and r.staging["mismatches"] == 0
    assert run(p).ran == []
    # the same bytes under another name are the same stage-in: nothing moves, nothing computes
    (root / "copy.npy").write_bytes((root / "u.npy").read_bytes())
    write(p, text(f"{url}/copy.npy", f"{url}/results/u.npy"))
    assert run(p).ran == []


@pytest.mark.gct
def test_against_gct_gridftp(workdir, gct) -> None:
    port, prefix, root = gct
    np.save(root / "u.npy", field())
    (root / "u.npy").chmod(0o644)
    url = f"ftp://127.0.0.1:{port}{prefix}"
    p = write(workdir / "p.yaml", text(f"{url}/u.npy", f"{url}/u-out.npy"))
    r = run(p)
    assert r.ok, [n.cause for n in r.nodes.values()]
    assert np.array_equal(np.load(root / "u-out.npy"), reference())
    assert r.staging["verified"] == 2
    assert run(p).ran == []


def _restore_after_first_failure(db_path, victim, good: bytes) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                db = sqlite3.connect(db_path)
                n = db.execute("SELECT COUNT(*) FROM attempts WHERE event = 'failed'").fetchone()[0]
                db.close()
            except sqlite3.Error:
                n = 0
            if n:
                victim.write_bytes(good)
                return
            time.sleep(0.01)
    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


def test_a_damaged_byte_is_caught_retried_and_counted(workdir, site, run_cli) -> None:
    url, root = site
    good = (root / "u.npy").read_bytes()
    digest = sha256_file(root / "u.npy")
    bad = bytearray(good)
    bad[-9] ^= 0x01
    (root / "u.npy").write_bytes(bytes(bad))
    p = write(workdir / "p.yaml", text(f"{url}/u.npy", f"{url}/out.npy", sha=digest))
    watcher = _restore_after_first_failure(workdir / ".wrapgen" / "staged" / "journal.db", root / "u.npy", good)
    r = run(p)
    watcher.join()
    assert r.ok and r.nodes["field"].attempts == 2
    assert r.staging["mismatches"] == 1 and r.staging["retries"] == 1
    assert np.array_equal(np.load(root / "out.npy"), reference())
    status = run_cli("status", "-f", str(p))
    assert "failed field attempt 1 (transient): " in status.stdout and "sha256 mismatch" in status.stdout
    log = r.log.read_text()
    assert "event=wrapgen.pipeline.retry" in log and "sha256 mismatch" in log


def test_a_file_damaged_for_good_fails_and_says_where(workdir, site) -> None:
    url, root = site
    digest = sha256_file(root / "u.npy")
    data = (root / "u.npy").read_bytes()
    (root / "u.npy").write_bytes(data[:-1] + bytes([data[-1] ^ 0x80]))
    p = write(workdir / "p.yaml", text(f"{url}/u.npy", f"{url}/out.npy", sha=digest, retries=1))
    r = run(p)
    f = r.nodes["field"]
    assert f.status == "failed" and f.attempts == 2 and f"sha256 mismatch: expected {digest}" in f.cause
    assert r.nodes["heat"].status == "blocked" and r.nodes["save"].status == "blocked"
    assert r.staging["mismatches"] == 2 and not (root / "out.npy").exists()


def test_an_unreachable_server_is_retried_then_reported(workdir) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = write(workdir / "p.yaml", text(f"ftp://127.0.0.1:{port}/u.npy", "out/u.npy", retries=1))
    r = run(p)
    f = r.nodes["field"]
    assert f.status == "failed" and f.attempts == 2 and "transfer failed" in f.cause and str(port) in f.cause


def test_stage_in_over_http_keys_by_size_and_time_and_digests_the_stream(workdir, tmp_path) -> None:
    root = tmp_path / "www"
    root.mkdir()
    np.save(root / "u.npy", field())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/u.npy"
        p = write(workdir / "p.yaml", text(url, "out/u.npy"))
        r = run(p)
        assert r.ok and np.array_equal(np.load(workdir / "out" / "u.npy"), reference())
        assert run(p).ran == []
        # declared digest: verified even though HTTP has no checksum command
        write(p, text(url, "out/u.npy", sha=sha256_file(root / "u.npy")))
        r = run(p)
        # content-keyed now: a new key for the stage-in, but those bytes are in the store already (nothing moves)
        # and its children's keys are unchanged (nothing computes)
        assert r.ok and r.ran == ["field"] and r.staging["files"] == 0
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_refusal_is_not_retried(workdir, tmp_path) -> None:
    root = tmp_path / "ro"
    root.mkdir()
    np.save(root / "u.npy", field())
    with Server(root, anonymous=True, anonymous_access="read") as srv:  # uploads refused: 550
        url = f"ftp://127.0.0.1:{srv.port}"
        p = write(workdir / "p.yaml", text(f"{url}/u.npy", f"{url}/out.npy", retries=3))
        r = run(p)
    s = r.nodes["save"]
    assert s.status == "failed" and s.attempts == 1 and " 550 " in s.cause
    assert r.nodes["heat"].status == "done"


def test_a_partial_stage_in_left_by_a_killed_driver_is_resumed(workdir, tmp_path) -> None:
    from wrapgen.netlogger import read
    from wrapgen.pipeline.engine import Engine, state_dir
    from wrapgen.pipeline.load import load_pipeline

    root = tmp_path / "big"
    root.mkdir()
    data = np.random.default_rng(3).bytes(24 << 20)
    (root / "big.bin").write_bytes(data)
    log = tmp_path / "server.log"
    with Server(root, anonymous=True, anonymous_access="full", transfer_log=log) as srv:
        p = write(workdir / "p.yaml", f"pipeline: resumed\nsteps:\n  big: {{stage_in: 'ftp://127.0.0.1:{srv.port}/big.bin'}}\n")
        g = load_pipeline(p)
        key = Engine(g, state_dir(g, None)).plan().decisions["big"].key
        part = workdir / ".wrapgen" / "resumed" / "tmp" / f"{key}.part"
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_bytes(data[: 20 << 20])  # what an earlier driver got before it was killed
        r = run(p)
    assert r.ok and r.output("big").read_bytes() == data
    (retr,) = [e for e in read(log) if e["event"] == "wrapgen.gridftp.transfer.end" and e["type"] == "RETR"]
    assert 0 < int(retr["nbytes"]) < len(data)  # only the rest crossed the wire


def test_an_http_etag_keys_the_stage_in(workdir, tmp_path) -> None:
    import hashlib
    import os

    root = tmp_path / "www"
    root.mkdir()
    (root / "x.json").write_text("1.0\n")

    class Tagged(http.server.SimpleHTTPRequestHandler):
        def end_headers(self) -> None:  # a strong ETag from the content, as many servers make one
            path = self.translate_path(self.path)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    self.send_header("ETag", f'"{hashlib.sha1(f.read()).hexdigest()}"')
            super().end_headers()

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Tagged, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        p = write(workdir / "p.yaml", f"pipeline: tagged\nsteps:\n  x: {{stage_in: "
                  f"'http://127.0.0.1:{httpd.server_address[1]}/x.json'}}\n")
        assert run(p).ran == ["x"]
        assert run(p).ran == []
        st = os.stat(root / "x.json")
        (root / "x.json").write_text("2.0\n")  # same size, and the same time put back: only the ETag tells
        os.utime(root / "x.json", ns=(st.st_atime_ns, st.st_mtime_ns))
        r = run(p)
        assert r.ran == ["x"] and r.output("x").read_text() == "2.0\n"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_transfer_reports_its_bytes_while_it_moves_then_its_verification(workdir, tmp_path, monkeypatch) -> None:
    import functools
    import time as _time

    from wrapgen import netlogger
    from wrapgen.pipeline import engine

    monkeypatch.setattr(engine, "PROGRESS", 0.1)
    body = np.arange(1 << 17, dtype=np.float64).tobytes()  # 1 MiB, sent in 8 slow pieces

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            self.do_HEAD()
            for i in range(8):
                self.wfile.write(body[i * len(body) // 8:(i + 1) * len(body) // 8])
                self.wfile.flush()
                _time.sleep(0.1)

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Slow))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        sha = hashlib.sha256(body).hexdigest()
        p = workdir / "p.yaml"
        p.write_text(f"pipeline: slow\nsteps:\n  get: {{stage_in: 'http://127.0.0.1:{httpd.server_address[1]}/b', "
                     f"sha256: {sha}}}\n")
        r = run(p)
    finally:
        httpd.shutdown()
    assert r.ok
    events = list(netlogger.read(r.log))
    moving = [int(e["bytes"]) for e in events if e["event"] == "wrapgen.pipeline.transfer.progress"]
    assert moving and any(0 < b < len(body) for b in moving), moving  # seen mid-way, not only at the end
    assert moving == sorted(moving)
    names = [e["event"] for e in events if e.get("node") == "get"]
    assert names.index("wrapgen.pipeline.verify") < names.index("wrapgen.pipeline.transfer.end")
