"""A full disk during an upload: 452 in stream mode and in MODE E (the native data path keeps errno), the
partial file kept, and the server still serving. The disk is a 1 MiB tmpfs mounted by the test (CI runs as
root, as the project's make targets do)."""

from __future__ import annotations

import ftplib
import io
import os
import subprocess

import pytest

from wrapgen.gridftp.client import Client, ReplyError
from wrapgen.gridftp.server import Server


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True)
    assert r.returncode == 0, f"mounting a tmpfs needs root (CI runs as root): {r.stderr}"
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_uploads_to_a_full_disk_get_452(small_disk, tmp_path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    (tmp_path / "big").write_bytes(data)
    with Server(small_disk, anonymous=True, anonymous_access="full") as srv:
        with Client("127.0.0.1", srv.port) as c:
            with pytest.raises(ReplyError) as e:
                c.put(tmp_path / "big", "/mode-e.bin", parallel=2)
            assert e.value.code == 452 and "no space left on the server's disk" in e.value.text, e.value.text
        assert (small_disk / "mode-e.bin").exists()  # the partial file is kept
        (small_disk / "mode-e.bin").unlink()
        f = ftplib.FTP()
        f.connect("127.0.0.1", srv.port)
        f.login()
        f.voidcmd("TYPE I")
        conn = f.transfercmd("STOR stream.bin")
        try:
            conn.sendall(data)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server stopped reading when the disk filled up: the reply says why
        conn.close()
        with pytest.raises(ftplib.error_temp, match="452 .*no space left on the server's disk"):
            f.voidresp()
        (small_disk / "stream.bin").unlink()
        f.storbinary("STOR small.bin", io.BytesIO(b"still serving"))
        f.quit()
        assert (small_disk / "small.bin").read_bytes() == b"still serving"
        r = subprocess.run(["globus-url-copy", "-fast", "-p", "2", f"file://{tmp_path}/big",
                            f"ftp://127.0.0.1:{srv.port}/guc.bin"], capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and "452" in r.stderr, r.stderr
