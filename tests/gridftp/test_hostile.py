"""Hostile clients against wrapgen's GridFTP server (issue 11): each test reproduces an attack that worked
before its fix. Raw sockets only, so the client does exactly what an attacker would."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

import pytest

from wrapgen.gridftp.auth import set_password
from wrapgen.gridftp.jail import Jail, PathRefused
from wrapgen.gridftp.server import Server


class Raw:
    """A control connection driven by hand."""

    def __init__(self, port: int, user: str | None = "anonymous", password: str = "x@y") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.rfile = self.sock.makefile("rb")
        self.banner = self.reply()
        if user is not None:
            self.cmd(f"USER {user}")
            assert self.cmd(f"PASS {password}").startswith("230"), "login failed"

    def reply(self) -> str:
        line = self.rfile.readline().decode()
        first = line
        while line[3:4] == "-" or (line and line[:3] != first[:3]) or line.startswith(" "):
            line = self.rfile.readline().decode()
            if line[:3] == first[:3] and line[3:4] == " ":
                break
        return line.rstrip("\r\n")

    def cmd(self, line: str) -> str:
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def pasv(self) -> int:
        r = self.cmd("PASV")
        nums = r[r.index("(") + 1:r.index(")")].split(",")
        return int(nums[4]) * 256 + int(nums[5])

    def close(self) -> None:
        self.rfile.close()  # the socket stays open while its file object does
        self.sock.close()


def block(data: bytes, offset: int, desc: int = 0) -> bytes:
    """A MODE E block: descriptor, 64-bit count, 64-bit offset, data."""
    return struct.pack(">BQQ", desc, len(data), offset) + data


EOD, EOF = 0x08, 0x40


@pytest.fixture
def user_server(tmp_path):
    """A server with one password account (full rights in its root)."""
    root = tmp_path / "root"
    root.mkdir()
    pw = tmp_path / "passwd"
    set_password(pw, "alice", "secret")
    with Server(root, password_file=pw, anonymous=True) as srv:
        yield srv, root


# --- 1. MODE E: a failed upload's readers must never write into a later file ---------------------------------
def test_a_failed_mode_e_upload_leaves_no_reader_behind(user_server) -> None:
    srv, root = user_server
    a = Raw(srv.port, "alice", "secret")
    a.cmd("TYPE I")
    a.cmd("MODE E")
    port = a.pasv()
    a.sock.sendall(b"STOR /first.bin\r\n")
    data = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    assert a.reply().startswith("150")
    time.sleep(0.3)  # all three accepted, their readers blocked
    data[0].sendall(block(b"x" * 10, 0, EOF))  # an EOF block with data: the transfer fails
    assert a.reply()[:3] in ("425", "426", "451")
    # The other two connections were shut down with the transfer (not left blocked, holding the file).
    for d in data[1:]:
        d.settimeout(10)
        try:
            assert d.recv(1) == b""
        except ConnectionResetError:
            pass
    # A second session's upload, while the first session's stale connections try to write into it.
    victim = os.urandom(4 << 20)
    b = Raw(srv.port, "alice", "secret")
    b.cmd("TYPE I")
    port_b = b.pasv()
    b.sock.sendall(b"STOR /victim.bin\r\n")
    conn = socket.create_connection(("127.0.0.1", port_b))
    assert b.reply().startswith("150")
    conn.sendall(victim[: 2 << 20])
    for d in data[1:]:
        try:
            d.sendall(block(b"\0" * (1 << 20), 0))
        except OSError:
            pass
    conn.sendall(victim[2 << 20:])
    conn.close()
    assert b.reply().startswith("226")
    assert (root / "victim.bin").read_bytes() == victim
    for s in (a, b):
        s.close()


# --- 2. The jail: what was checked is what is used ----------------------------------------------------------------
def test_a_directory_swapped_for_a_link_after_the_check_is_not_followed(tmp_path) -> None:
    """Sans sockets: the place resolved before the swap is the directory that was checked."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f").write_text("secret")
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f").write_text("inside")
    jail = Jail(root)
    with jail.place("/", "d/f", must_exist=True) as p:
        os.rename(root / "d", root / "moved")
        os.symlink(outside, root / "d")  # what an RNFR/RNTO race achieves
        fd = p.open(os.O_RDONLY)
        assert os.read(fd, 100) == b"inside"
        os.close(fd)
    with pytest.raises(PathRefused):
        jail.place("/", "d/f", must_exist=True)  # and afterwards the link is refused
    # a link replacing the final name itself after the walk is not followed either
    with jail.place("/", "moved/f", must_exist=True) as p:
        os.rename(root / "moved" / "f", root / "moved" / "g")
        os.symlink(outside / "f", root / "moved" / "f")
        with pytest.raises(OSError):
            p.open(os.O_RDONLY)
        with pytest.raises(OSError):
            p.chmod(0o777)
    assert (outside / "f").stat().st_mode & 0o777 != 0o777
    jail.close()


def test_links_inside_the_root_still_work_and_escapes_are_refused(tmp_path) -> None:
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f").write_text("x")
    os.symlink("a/b", root / "rel")
    os.symlink(root / "a", root / "abs")  # absolute, but into the root
    os.symlink("../..", root / "a" / "up")  # climbs out
    os.symlink("loop", root / "loop")
    jail = Jail(root)
    for path, virtual in (("rel/f", "/a/b/f"), ("abs/b/f", "/a/b/f"), ("a/b/../b/f", "/a/b/f")):
        with jail.place("/", path, must_exist=True) as p:
            assert p.virtual == virtual and p.is_file
    for bad in ("a/up/etc", "loop/x", "/../../etc/passwd"):
        with pytest.raises(PathRefused):
            jail.place("/", bad, must_exist=True).close()
    with jail.place("/", "~/a") as p:  # GCT's ~ is the session's home
        assert p.virtual == "/a"
    jail.close()


def test_rename_races_never_reach_outside_the_root(user_server, tmp_path) -> None:
    """Two sessions: one swaps a directory and a link to outside with RNFR/RNTO as fast as it can, the other
    retrieves and stores through the directory's name meanwhile."""
    srv, root = user_server
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f").write_bytes(b"SECRET")
    (root / "d").mkdir()
    (root / "d" / "f").write_bytes(b"inside")
    os.symlink(outside, root / "evil")
    stop = threading.Event()

    def swap() -> None:
        s = Raw(srv.port, "alice", "secret")
        while not stop.is_set():
            s.cmd("RNFR /d")
            s.cmd("RNTO /real")
            s.cmd("RNFR /evil")
            s.cmd("RNTO /d")
            s.cmd("RNFR /d")
            s.cmd("RNTO /evil")
            s.cmd("RNFR /real")
            s.cmd("RNTO /d")
        s.close()

    t = threading.Thread(target=swap)
    t.start()
    got = []
    try:
        r = Raw(srv.port, "alice", "secret")
        r.cmd("TYPE I")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            port = r.pasv()
            r.sock.sendall(b"RETR /d/f\r\n")
            d = socket.create_connection(("127.0.0.1", port))
            first = r.reply()
            data = b""
            if first.startswith("150"):
                while chunk := d.recv(100):
                    data += chunk
                r.reply()
                got.append(data)
            d.close()
            r.cmd("SITE CHMOD 777 /d/f")
        r.close()
    finally:
        stop.set()
        t.join()
    assert got and b"SECRET" not in got
    assert (outside / "f").stat().st_mode & 0o777 != 0o777


# --- 8. Timeouts and per-address limits ---------------------------------------------------------------------------
def test_silent_and_slow_connections_are_dropped(tmp_path) -> None:
    with Server(tmp_path, anonymous=True, login_timeout=1, idle_timeout=1.5) as srv:
        silent = Raw(srv.port, user=None)
        slow = Raw(srv.port, user=None)
        start = time.monotonic()
        for _ in range(8):  # a byte every 0.3 s: never a whole line, never a login
            try:
                slow.sock.sendall(b"U")
            except OSError:
                break
            time.sleep(0.3)
        assert silent.reply().startswith("421 No login within 1 seconds")
        assert silent.rfile.readline() == b""
        assert slow.rfile.read() is not None and time.monotonic() - start < 10
        idle = Raw(srv.port)
        assert idle.cmd("NOOP").startswith("200")
        assert idle.reply().startswith("421 Idle timeout")
        for s in (silent, slow, idle):
            s.close()


def test_one_address_cannot_take_every_session(tmp_path) -> None:
    with Server(tmp_path, anonymous=True, max_per_address=3) as srv:
        held = [Raw(srv.port, user=None) for _ in range(3)]
        extra = Raw(srv.port, user=None)
        assert extra.banner.startswith("421 Too many sessions from your address")
        held[0].close()
        time.sleep(0.3)
        again = Raw(srv.port)  # a slot came free
        assert again.cmd("NOOP").startswith("200")
        for s in held[1:] + [extra, again]:
            s.close()


@pytest.mark.parametrize("mode", ["S", "E"])
def test_a_silent_data_connection_ends_the_upload(tmp_path, mode) -> None:
    with Server(tmp_path, anonymous=True, anonymous_access="write", data_timeout=1) as srv:
        c = Raw(srv.port)
        c.cmd("TYPE I")
        c.cmd(f"MODE {mode}")
        port = c.pasv()
        c.sock.sendall(b"STOR /slow.bin\r\n")
        d = socket.create_connection(("127.0.0.1", port))
        assert c.reply().startswith("150")
        if mode == "E":
            d.sendall(struct.pack(">BQQ", 0, 100, 0) + b"x" * 10)  # a block that never completes
        else:
            d.sendall(b"x" * 10)
        start = time.monotonic()
        final = c.reply()
        assert final[:3] in ("425", "426"), final
        assert time.monotonic() - start < 15
        assert c.cmd("NOOP").startswith("200")  # the session goes on
        d.close()
        c.close()


# --- 15. Offsets and sizes are bounded ------------------------------------------------------------------------------
def test_offsets_beyond_the_maximum_file_size_are_refused(tmp_path) -> None:
    with Server(tmp_path, anonymous=True, anonymous_access="full", max_file_size=1 << 20) as srv:
        c = Raw(srv.port)
        c.cmd("TYPE I")
        assert c.cmd(f"ESTO A {1 << 62} /f").startswith("552")
        assert c.cmd(f"REST {1 << 40}").startswith("350")
        assert c.cmd("STOR /f").startswith("552")
        assert c.cmd(f"CKSM MD5 {1 << 64} -1 /f").startswith("501")  # no traceback, a clear refusal
        c.cmd("MODE E")
        port = c.pasv()
        c.sock.sendall(b"STOR /big.bin\r\n")
        d = socket.create_connection(("127.0.0.1", port))
        assert c.reply().startswith("150")
        d.sendall(block(b"x", 1 << 40))
        assert c.reply()[:3] in ("552", "426", "425")
        d.close()
        c.cmd("MODE S")
        port = c.pasv()
        c.sock.sendall(b"STOR /stream.bin\r\n")
        d = socket.create_connection(("127.0.0.1", port))
        assert c.reply().startswith("150")
        try:
            d.sendall(b"y" * (2 << 20))
        except OSError:
            pass
        d.close()
        assert c.reply().startswith("552")
        assert (tmp_path / "stream.bin").stat().st_size <= 1 << 20
        assert not (tmp_path / "big.bin").exists() or (tmp_path / "big.bin").stat().st_size <= 1 << 20
        c.close()


# --- 16. Anonymous is read-only unless told otherwise --------------------------------------------------------------
def test_anonymous_sessions_are_read_only_by_default(tmp_path) -> None:
    (tmp_path / "keep.txt").write_text("keep")
    (tmp_path / "dir").mkdir()
    with Server(tmp_path, anonymous=True) as srv:
        c = Raw(srv.port)
        for line in ("DELE /keep.txt", "RMD /dir", "MKD /new", "RNFR /keep.txt", "SITE CHMOD 000 /",
                     "MFMT 20200101000000 /keep.txt", "STOR /up.txt", "APPE /keep.txt", "ESTO A 0 /keep.txt"):
            assert c.cmd(line).startswith("550"), line
        c.close()
    assert (tmp_path / "keep.txt").read_text() == "keep" and (tmp_path / "dir").is_dir()
    assert (tmp_path / "").stat().st_mode & 0o777 != 0


def test_anonymous_write_changes_only_what_the_session_wrote(tmp_path) -> None:
    (tmp_path / "keep.txt").write_text("keep")
    with Server(tmp_path, anonymous=True, anonymous_access="write") as srv:
        c = Raw(srv.port)
        port = c.pasv()
        c.sock.sendall(b"STOR /mine.txt\r\n")
        d = socket.create_connection(("127.0.0.1", port))
        assert c.reply().startswith("150")
        d.sendall(b"mine")
        d.close()
        assert c.reply().startswith("226")
        assert c.cmd("MKD /mydir").startswith("257")
        for line in ("DELE /keep.txt", "STOR /keep.txt", "RNFR /keep.txt", "SITE CHMOD 000 /mine.txt"):
            assert c.cmd(line).startswith("550"), line
        assert c.cmd("RNFR /mine.txt").startswith("350")
        assert c.cmd("RNTO /mine2.txt").startswith("250")
        assert c.cmd("DELE /mine2.txt").startswith("250")
        assert c.cmd("RMD /mydir").startswith("250")
        c.close()
        other = Raw(srv.port)  # another session: what the first wrote is not its own
        assert other.cmd("DELE /keep.txt").startswith("550")
        other.close()
    assert (tmp_path / "keep.txt").read_text() == "keep"


# --- 18. A store is renamed into place when complete -------------------------------------------------------------
def test_an_upload_in_progress_never_shows_under_its_name(user_server) -> None:
    srv, root = user_server
    (root / "data.bin").write_bytes(b"old")
    c = Raw(srv.port, "alice", "secret")
    c.cmd("TYPE I")
    port = c.pasv()
    c.sock.sendall(b"STOR /data.bin\r\n")
    d = socket.create_connection(("127.0.0.1", port))
    assert c.reply().startswith("150")
    d.sendall(b"n" * 100000)
    time.sleep(0.3)
    assert (root / "data.bin").read_bytes() == b"old"  # readers see the old file until the new one is whole
    assert [p.name for p in root.iterdir() if p.name.startswith(".data.bin.part-")]
    d.close()
    assert c.reply().startswith("226")
    assert (root / "data.bin").read_bytes() == b"n" * 100000
    assert sorted(p.name for p in root.iterdir()) == ["data.bin"]
    c.close()


# --- 23. ~/ is the session's home, as with GCT ---------------------------------------------------------------------
def test_tilde_paths_are_the_home_directory(tmp_path, run_cli) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "f").write_text("home file")
    with Server(root, anonymous=True) as srv:
        for i, client in enumerate((["globus-url-copy"], ["wrapgen-url-copy"])):
            out = tmp_path / f"out{i}"
            url = f"ftp://127.0.0.1:{srv.port}/~/f"
            if client[0] == "globus-url-copy":
                import subprocess

                r = subprocess.run(["globus-url-copy", url, f"file://{out}"], capture_output=True, text=True)
            else:
                r = run_cli("url-copy", url, f"file://{out}")
            assert r.returncode == 0, r.stderr
            assert out.read_text() == "home file"


def test_a_client_that_leaves_mid_reply_leaves_no_traceback(tmp_path, caplog) -> None:
    (tmp_path / "d").mkdir()
    for i in range(2000):
        (tmp_path / "d" / f"file-with-a-long-name-{i:05d}").touch()
    with Server(tmp_path, anonymous=True) as srv:
        for _ in range(5):
            c = Raw(srv.port)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.sock.sendall(b"STAT /d\r\n" * 20)  # a long reply, many times, to a client that resets at once
            c.close()
        time.sleep(0.5)
        assert Raw(srv.port).cmd("NOOP").startswith("200")
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


def test_a_checksum_stops_when_its_client_leaves(tmp_path) -> None:
    """Item 15: CKSM of a huge sparse file is abandoned when the client goes (it ran on for an hour)."""
    with open(tmp_path / "sparse", "wb") as f:
        f.truncate(64 << 30)  # 64 GiB of holes: minutes of MD5
    with Server(tmp_path, anonymous=True) as srv:
        c = Raw(srv.port)
        c.sock.sendall(b"CKSM MD5 0 -1 /sparse\r\n")
        time.sleep(0.5)
        c.close()
        deadline = time.monotonic() + 20
        while srv._sessions and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not srv._sessions, "the checksum went on after its client left"


def test_a_checksum_range_past_the_end_is_refused(tmp_path) -> None:
    """A CKSM of a range longer than the file is refused: the sum of a shorter range would pass for it."""
    (tmp_path / "f").write_bytes(b"0123456789")
    with Server(tmp_path, anonymous=True) as srv:
        c = Raw(srv.port)
        assert c.cmd("CKSM MD5 4 6 /f").startswith("213 ")
        assert c.cmd("CKSM MD5 4 7 /f").startswith("501 CKSM: range 4+7 is past the end of /f (10 bytes)")
        assert c.cmd("CKSM MD5 11 -1 /f").startswith("501 ")
        c.close()
