"""256 MiB files both ways between GCT's tools and ours (stream mode and MODE E -fast -p 4), our client against
GCT's server."""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest

from wrapgen.gridftp.client import Client

SIZE = 256 * 1024 * 1024 + 1


def md5(path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.bin"
    with open(path, "wb") as f:
        for _ in range(64):
            f.write(os.urandom(4 << 20))
        f.write(b"!")
    return path, md5(path)


def guc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["globus-url-copy", *args], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("opts", [[], ["-fast", "-p", "4"]], ids=["stream", "mode-e-p4"])
def test_globus_url_copy_256mib_both_ways_with_our_server(ours, big, tmp_path, opts) -> None:
    port, _, root = ours
    path, digest = big
    r = guc(*opts, f"file://{path}", f"ftp://127.0.0.1:{port}/big.bin")
    assert r.returncode == 0, r.stderr
    assert md5(root / "big.bin") == digest
    r = guc(*opts, f"ftp://127.0.0.1:{port}/big.bin", f"file://{tmp_path}/back.bin")
    assert r.returncode == 0, r.stderr
    assert md5(tmp_path / "back.bin") == digest


def test_our_client_256mib_with_gct(gct, big, tmp_path) -> None:
    port, prefix, root = gct
    path, digest = big
    with Client("127.0.0.1", port) as c:
        assert c.put(path, f"{prefix}/big.bin", parallel=4) == SIZE
        assert c.checksum(f"{prefix}/big.bin", "MD5") == digest
        assert c.get(f"{prefix}/big.bin", tmp_path / "back.bin", parallel=4) == SIZE
    assert md5(tmp_path / "back.bin") == digest
