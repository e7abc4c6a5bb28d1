"""Restart: the server dies in the middle of an upload (its data connections break); `wrapgen url-copy -rst`
retries against the server started again on the same port, resumes after the part already there (checked by
checksum) and the file arrives whole (MD5 compared)."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time

import pytest


def start(root, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-P", "-m", "wrapgen", "gridftp-server", "--root", str(root), "--port",
                             str(port), "--anonymous", "--anonymous-access", "full"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert "serving" in proc.stdout.readline()
    return proc


@pytest.mark.parametrize("direction", ["upload", "download"])
def test_url_copy_rst_survives_a_server_killed_mid_transfer(tmp_path, direction) -> None:
    root = tmp_path / "root"
    root.mkdir()
    src = (tmp_path if direction == "upload" else root) / "src.bin"
    with open(src, "wb") as f:
        for _ in range(64):
            f.write(os.urandom(4 << 20))  # 256 MiB: the transfer outlasts the 2 ms polling below
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = start(root, port)
    if direction == "upload":
        urls, dst = [f"file://{src}", f"ftp://127.0.0.1:{port}/dst.bin"], root / "dst.bin"
    else:
        urls, dst = [f"ftp://127.0.0.1:{port}/src.bin", f"file://{tmp_path}/dst.bin"], tmp_path / "dst.bin"
    copy = subprocess.Popen([sys.executable, "-P", "-m", "wrapgen", "url-copy", "-rst", "-rst-retries", "8", "-p", "1",
                             *urls], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60

        def written() -> list:
            # An upload goes to a temporary name beside the target until it is complete
            return [p for p in dst.parent.iterdir() if p.name == dst.name or p.name.startswith(f".{dst.name}.part-")]

        while not any(p.stat().st_size > 32 << 20 for p in written()):
            assert time.monotonic() < deadline, "the transfer never started"
            time.sleep(0.002)
        server.send_signal(signal.SIGKILL)  # mid-transfer: every data connection breaks
        server.wait()
        partial = max(p.stat().st_size for p in written())
        if direction == "upload":
            # The server died with the upload unfinished: the target name was never given a partial file
            # (one that could have holes, served with 226 after a restart). The retry starts from 0.
            assert not dst.exists()
        server = start(root, port)
        out, err = copy.communicate(timeout=300)
        assert copy.returncode == 0, err
        assert "retrying" in err, err  # the first attempt did fail
        if direction == "download":
            resumed = [int(line.rsplit("at byte ", 1)[1].split()[0]) for line in err.splitlines() if "resuming" in line]
            # and the second went on from what was there (it may still have written what its socket held)
            assert resumed and 0 < resumed[-1] < src.stat().st_size, err
        assert partial < src.stat().st_size
        h = hashlib.md5()
        with open(dst, "rb") as f:
            while chunk := f.read(8 << 20):
                h.update(chunk)
        assert h.hexdigest() == hashlib.md5(src.read_bytes()).hexdigest()
    finally:
        copy.kill()
        server.terminate()
        server.wait(10)
