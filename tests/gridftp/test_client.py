"""wrapgen.gridftp.Client against wrapgen's server and against the Grid Community Toolkit's (anonymous,
started here on 127.0.0.1): parallel MODE E puts and gets, checksums, listings, refusals as ReplyError."""

from __future__ import annotations

import hashlib
import os
import socket

import pytest

from wrapgen.gridftp import GridFTPError
from wrapgen.gridftp.client import Client, ReplyError
from wrapgen.gridftp.server import Server


@pytest.mark.parametrize("which", ["ours", "gct"])
@pytest.mark.parametrize("size", [0, 1, 4 * 1024 * 1024 + 5])
def test_put_get_checksum_list(request, tmp_path, which, size) -> None:
    port, prefix, root = request.getfixturevalue(which)
    data = os.urandom(size)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    with Client("127.0.0.1", port) as c:  # one session for every step
        for parallel in (1, 4):
            remote = f"{prefix}/f{parallel}.bin"
            assert c.put(src, remote, parallel=parallel) == size
            assert (root / f"f{parallel}.bin").read_bytes() == data
            assert c.get(remote, tmp_path / "got.bin", parallel=parallel) == size
            assert (tmp_path / "got.bin").read_bytes() == data
            assert c.checksum(remote, "MD5") == hashlib.md5(data).hexdigest()
            assert c.size(remote) == size
        listing = c.list(prefix or "/")
        assert listing["f4.bin"]["size"] == str(size) and listing["f4.bin"]["type"] == "file"


@pytest.mark.parametrize("which", ["ours", "gct"])
def test_refusals_are_reply_errors(request, tmp_path, which) -> None:
    port, prefix, root = request.getfixturevalue(which)
    with Client("127.0.0.1", port) as c:
        with pytest.raises(ReplyError) as info:
            c.get(f"{prefix}/missing", tmp_path / "x")
        assert info.value.code in (500, 550)
        (tmp_path / "a").write_bytes(b"abc")
        with pytest.raises(ReplyError):
            c.put(tmp_path / "a", f"{prefix}/no/such/dir/a")
        c.put(tmp_path / "a", f"{prefix}/a")  # the session still works
        assert c.size(f"{prefix}/a") == 3


def test_resume_a_download(ours, tmp_path) -> None:
    port, _, root = ours
    data = os.urandom(100_000)
    (root / "big").write_bytes(data)
    (tmp_path / "part").write_bytes(data[:30_000])  # an interrupted copy
    with Client("127.0.0.1", port) as c:
        c.get("/big", tmp_path / "part", parallel=2, offset=30_000)
    assert (tmp_path / "part").read_bytes() == data


def test_connect_and_login_errors(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(GridFTPError, match=f"cannot connect to 127.0.0.1:{port}"):
        Client("127.0.0.1", port)
    root = tmp_path / "r"
    root.mkdir()
    from wrapgen.gridftp.auth import set_password

    set_password(tmp_path / "pw", "jane", "pw")
    with Server(root, password_file=tmp_path / "pw") as srv:
        with pytest.raises(ReplyError, match="PASS: 530 Login incorrect"):
            Client("127.0.0.1", srv.port, "jane", "wrong")
        with Client("127.0.0.1", srv.port, "jane", "pw") as c:
            assert c.command("SITE WHOAMI", 200)[1] == "jane"


@pytest.mark.timeout(60)
def test_a_store_waiting_for_data_ends_when_the_client_hangs_up(tmp_path) -> None:
    """A third party whose source failed leaves the destination waiting for data connections; when the
    client drops that session, the server ends the wait at once (not after its 120 s stall limit)."""
    import time


    with Server(tmp_path, anonymous=True, anonymous_access="full") as srv:
        c = Client("127.0.0.1", srv.port)
        c._mode_e(2)
        c.passive()
        c.command("ALLO 10", 200)
        c._send("STOR /never.bin")
        assert c._read_reply("STOR")[0] == 150
        c.close_now()
        while srv._sessions:  # the session thread returns and the server forgets it
            time.sleep(0.05)
        with Client("127.0.0.1", srv.port) as again:  # a store that received nothing leaves nothing behind
            with pytest.raises(ReplyError, match="no such file"):
                again.size("/never.bin")
        assert not list(tmp_path.iterdir())  # nor a temporary file
