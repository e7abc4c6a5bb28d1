"""`wrapgen url-copy` options beyond plain copies: third party, -sync levels, -off/-len (ERET/ESTO), -cc, -f,
-list, http sources, -dbg; and globus-url-copy's -off/-len and -sync against our server."""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import sys
import threading
import time

import pytest


def url_copy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-P", "-m", "wrapgen", "url-copy", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("driver", ["wrapgen", "globus-url-copy"])
@pytest.mark.parametrize("direction", ["ours-to-gct", "gct-to-ours"])
def test_third_party_ftp_between_ours_and_gct(ours, gct, direction, driver) -> None:
    (op, _, oroot), (gp, gpre, groot) = ours, gct
    data = os.urandom(2 * 1024 * 1024 + 5)
    if direction == "ours-to-gct":
        (oroot / "a.bin").write_bytes(data)
        src, dst, dst_root = f"ftp://127.0.0.1:{op}/a.bin", f"ftp://127.0.0.1:{gp}{gpre}/b.bin", groot
    else:
        (groot / "a.bin").write_bytes(data)
        (groot / "a.bin").chmod(0o644)
        src, dst, dst_root = f"ftp://127.0.0.1:{gp}{gpre}/a.bin", f"ftp://127.0.0.1:{op}/b.bin", oroot
    if driver == "wrapgen":
        r = url_copy("-p", "4", "-verify-checksum", src, dst)
    else:
        r = subprocess.run(["globus-url-copy", "-fast", "-p", "4", src, dst], capture_output=True, text=True,
                           timeout=300)
    assert r.returncode == 0, r.stderr
    assert (dst_root / "b.bin").read_bytes() == data


def test_sync_levels(ours, tmp_path) -> None:
    port, _, root = ours
    data = os.urandom(5000)
    (tmp_path / "f").write_bytes(data)
    url = f"ftp://127.0.0.1:{port}/f"
    assert url_copy(f"file://{tmp_path}/f", url).returncode == 0
    (root / "f").write_bytes(b"X" * 5000)  # same size, different content, newer
    for level, copied in [(0, False), (1, False), (2, False), (3, True)]:
        (root / "f").write_bytes(b"X" * 5000)
        r = url_copy("-sync", "-sync-level", str(level), f"file://{tmp_path}/f", url)
        assert r.returncode == 0, r.stderr
        assert ((root / "f").read_bytes() == data) == copied, level
    (root / "f").write_bytes(b"short")
    assert url_copy("-sync", "-sync-level", "1", f"file://{tmp_path}/f", url).returncode == 0
    assert (root / "f").read_bytes() == data  # sizes differ: copied
    os.utime(root / "f", (time.time() - 3600, time.time() - 3600))
    (root / "f").write_bytes(b"Y" * 5000)
    os.utime(root / "f", (time.time() - 3600, time.time() - 3600))
    assert url_copy("-sync", f"file://{tmp_path}/f", url).returncode == 0  # level 2: destination older
    assert (root / "f").read_bytes() == data
    (tmp_path / "g").unlink(missing_ok=True)
    assert url_copy("-sync", "-sync-level", "0", url, f"file://{tmp_path}/g").returncode == 0  # missing: copied
    assert (tmp_path / "g").read_bytes() == data


@pytest.mark.parametrize("which", ["ours", "gct"])
def test_partial_transfers_off_len(request, tmp_path, which) -> None:
    port, prefix, root = request.getfixturevalue(which)
    data = os.urandom(300_000)
    (root / "src.bin").write_bytes(data)
    (root / "src.bin").chmod(0o644)
    url = f"ftp://127.0.0.1:{port}{prefix}"
    r = url_copy("-off", "1000", "-len", "150000", f"{url}/src.bin", f"file://{tmp_path}/part")
    assert r.returncode == 0, r.stderr
    got = (tmp_path / "part").read_bytes()
    assert len(got) == 151000 and got[1000:] == data[1000:151000]  # written at the same offset (GCT's rule)
    (tmp_path / "local").write_bytes(data)
    r = url_copy("-off", "7", "-len", "99999", f"file://{tmp_path}/local", f"{url}/esto.bin")
    assert r.returncode == 0, r.stderr
    assert (root / "esto.bin").read_bytes()[7:] == data[7:100006]
    # -off alone: from there to the end
    r = url_copy("-off", "250000", f"{url}/src.bin", f"file://{tmp_path}/tail")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "tail").read_bytes()[250000:] == data[250000:]


def test_globus_url_copy_partial_and_sync_against_our_server(ours, tmp_path) -> None:
    port, _, root = ours
    data = os.urandom(100_000)
    (root / "f").write_bytes(data)
    r = subprocess.run(["globus-url-copy", "-off", "1000", "-len", "5000", f"ftp://127.0.0.1:{port}/f",
                        f"file://{tmp_path}/part"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "part").read_bytes()[1000:] == data[1000:6000]
    (tmp_path / "local").write_bytes(data)
    r = subprocess.run(["globus-url-copy", "-off", "2000", "-len", "3000", f"file://{tmp_path}/local",
                        f"ftp://127.0.0.1:{port}/esto"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert (root / "esto").read_bytes()[2000:] == data[2000:5000]
    (tmp_path / "same").write_bytes(data)
    before = (tmp_path / "same").stat().st_mtime_ns
    r = subprocess.run(["globus-url-copy", "-sync", "-sync-level", "3", f"ftp://127.0.0.1:{port}/f",
                        f"file://{tmp_path}/same"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "same").stat().st_mtime_ns == before  # checksums equal: not copied


def test_concurrent_files_list_and_file_of_pairs(ours, tmp_path) -> None:
    port, _, root = ours
    tree = tmp_path / "tree"
    files = {}
    for i in range(20):
        d = tree / f"d{i % 3}"
        d.mkdir(parents=True, exist_ok=True)
        files[f"d{i % 3}/f{i}"] = os.urandom(100 + i)
        (d / f"f{i}").write_bytes(files[f"d{i % 3}/f{i}"])
    url = f"ftp://127.0.0.1:{port}"
    r = url_copy("-r", "-cd", "-cc", "4", "-p", "2", f"file://{tree}/", f"{url}/t/")
    assert r.returncode == 0, r.stderr
    for name, data in files.items():
        assert (root / "t" / name).read_bytes() == data
    r = url_copy("-list", f"{url}/t/")
    assert r.returncode == 0 and r.stdout.split() == ["d0/", "d1/", "d2/"], r.stdout + r.stderr
    pairs = tmp_path / "pairs"
    pairs.write_text(f"# copies\n{url}/t/d0/f0 file://{tmp_path}/p0\n\n{url}/t/d1/f1 file://{tmp_path}/p1\n")
    r = url_copy("-f", str(pairs))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "p0").read_bytes() == files["d0/f0"] and (tmp_path / "p1").read_bytes() == files["d1/f1"]
    pairs.write_text(f"{url}/t/d0/f0 file://{tmp_path}/p0\nonly-one-url\n")
    r = url_copy("-f", str(pairs))
    assert r.returncode == 2 and f"{pairs}:2: expected 'SRC DST'" in r.stderr, r.stderr


def test_http_source_and_dbg(ours, tmp_path) -> None:
    port, _, root = ours
    data = os.urandom(200_000)
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "data.bin").write_bytes(data)
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path / "www"), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        r = url_copy("-dbg", "-tcp-bs", "1M", f"{base}/data.bin", f"ftp://127.0.0.1:{port}/from-http.bin")
        assert r.returncode == 0, r.stderr
        assert (root / "from-http.bin").read_bytes() == data
        assert "sending: STOR /from-http.bin" in r.stderr and "received: 226" in r.stderr
        assert "sending: SBUF 1048576" in r.stderr
        r = url_copy(f"{base}/data.bin", f"file://{tmp_path}/h.bin")
        assert r.returncode == 0 and hashlib.md5((tmp_path / "h.bin").read_bytes()).digest() == hashlib.md5(data).digest()
        r = url_copy(f"{base}/missing", f"file://{tmp_path}/m")
        assert r.returncode == 1 and "HTTP 404" in r.stderr, r.stderr
    finally:
        httpd.shutdown()


@pytest.mark.parametrize("args, message", [
    (["-cc", "0", "file:///a", "ftp://127.0.0.1/b"], "-cc 0: expected 1 to 64"),
    (["-dcpriv", "-nodcau", "file:///a", "gsiftp://127.0.0.1/b"], "-dcpriv encrypts with the data channels'"),
    (["-off", "-5", "file:///a", "ftp://127.0.0.1/b"], "-off and -len must be 0 or more"),
    (["file:///a"], "give SRC and DST"),
    (["-list", "file:///tmp/"], "expected an ftp:// or gsiftp:// directory URL"),
    (["-tcp-bs", "lots", "file:///a", "ftp://127.0.0.1/b"], "'lots': expected a size in bytes such as 1048576 or 4M"),
    (["-f", "/no/such/list"], "-f /no/such/list: No such file or directory"),
    (["-r", "http://127.0.0.1/d/", "file:///tmp/x/"], "-r cannot list an http(s) source"),
    (["-r", "file:///a", "ftp://127.0.0.1/b/"], "-r copies directories: SRC and DST must end in '/'"),
])
def test_option_errors(args, message) -> None:
    r = url_copy(*args)
    assert r.returncode == 2 and message in r.stderr, r.stderr


def test_resume_point_trusts_only_a_matching_prefix(ours, tmp_path) -> None:
    from wrapgen.urls import Stores, parse_url
    from wrapgen.urls.copy import resume_point
    from wrapgen.urls.settings import CopySettings

    port, _, root = ours
    data = os.urandom(5 << 20)
    (root / "src.bin").write_bytes(data)
    src, dst = parse_url(f"ftp://127.0.0.1:{port}/src.bin"), parse_url(f"file://{tmp_path}/dst.bin")
    with Stores(CopySettings(parallel=2)) as stores:
        (tmp_path / "dst.bin").write_bytes(data[: 3 << 20])  # what a failed download left
        assert resume_point(stores, src, dst) == 1 << 20  # the last 2 blocks may have holes
        (tmp_path / "dst.bin").write_bytes(b"\0" + data[1: 3 << 20])  # one byte wrong at the start
        assert resume_point(stores, src, dst) == 0
        (tmp_path / "dst.bin").write_bytes(data[: 1 << 20])  # too little to be sure of anything
        assert resume_point(stores, src, dst) == 0
    with Stores(CopySettings(parallel=1)) as stores:
        up_src, up_dst = parse_url(f"file://{tmp_path}/local.bin"), parse_url(f"ftp://127.0.0.1:{port}/part.bin")
        (tmp_path / "local.bin").write_bytes(data)
        (root / "part.bin").write_bytes(data[: 4 << 20])  # what a failed upload left
        assert resume_point(stores, up_src, up_dst) == 3 << 20


def test_wrapgen_copy_is_url_copy_as_one_call(ours, gct, tmp_path) -> None:
    import wrapgen
    from wrapgen.errors import UsageError
    from wrapgen.urls import TransferError

    port, _, root = ours
    gport, gprefix, groot = gct
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.bin").write_bytes(os.urandom(70_000))
    (tree / "sub" / "b.bin").write_bytes(os.urandom(3_000))
    done = wrapgen.copy(f"file://{tree}/", f"ftp://127.0.0.1:{port}/in/", recursive=True, mkdirs=True, verify=True)
    assert (done.files, done.bytes) == (2, 73_000)
    assert (root / "in" / "sub" / "b.bin").read_bytes() == (tree / "sub" / "b.bin").read_bytes()
    again = wrapgen.copy(f"file://{tree}/", f"ftp://127.0.0.1:{port}/in/", recursive=True, sync=1)
    assert again.bytes == 0  # everything already there
    third = wrapgen.copy(f"ftp://127.0.0.1:{port}/in/a.bin", f"ftp://127.0.0.1:{gport}{gprefix}/a.bin", parallel=2)
    assert third.bytes == 70_000 and (groot / "a.bin").read_bytes() == (tree / "a.bin").read_bytes()
    with pytest.raises(UsageError, match="-p 0: expected 1 to 64"):
        wrapgen.copy(f"file://{tree}/a.bin", f"ftp://127.0.0.1:{port}/x", parallel=0)
    with pytest.raises(TransferError, match="550"):
        wrapgen.copy(f"ftp://127.0.0.1:{port}/missing", f"file://{tmp_path}/m")


def test_progress_bar_on_a_terminal(ours, tmp_path) -> None:
    """On a terminal url-copy draws a bar with bytes and rate (redrawn from the native data path's byte
    counters while a file is in flight); elsewhere (pipes, as in the other tests) it prints nothing of the
    kind."""
    import pty

    port, _, root = ours
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for _ in range(96):
            f.write(os.urandom(1 << 20))
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-P", "-m", "wrapgen", "url-copy", "-p", "2", f"file://{big}",
                             f"ftp://127.0.0.1:{port}/big.bin"], stdout=slave, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.wait(120) == 0, out
    text = out.decode(errors="replace")
    assert "[##############################] 100.7/100.7 MB" in text, text  # the last frame: complete
    assert (root / "big.bin").stat().st_size == big.stat().st_size
    r = url_copy(f"ftp://127.0.0.1:{port}/big.bin", f"file://{tmp_path}/back.bin")
    assert r.returncode == 0 and "MB/s" not in r.stderr  # not a terminal: no bar
