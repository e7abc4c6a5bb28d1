"""ABOR while a transfer runs: the transfer stops at once with 426, ABOR answers 226, the session goes on
(RFC 959 section 4.1.3). Stream RETR and STOR, and a MODE E RETR whose receiver stopped reading."""

from __future__ import annotations

import os
import socket
import time

import pytest

from wrapgen.gridftp.server import Server


class Control:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.sock.makefile("rb")
        assert self.reply().startswith("220")
        assert self.cmd("USER anonymous").startswith("331")
        assert self.cmd("PASS a@b").startswith("230")
        assert self.cmd("TYPE I").startswith("200")

    def reply(self) -> str:
        while True:
            line = self.f.readline().decode().rstrip("\r\n")
            if len(line) >= 4 and line[3] == " " and line[:3].isdigit():
                return line

    def cmd(self, line: str) -> str:
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def pasv(self) -> socket.socket:
        r = self.cmd("PASV")
        nums = [int(x) for x in r[r.index("(") + 1:r.index(")")].split(",")]
        return socket.create_connection((".".join(map(str, nums[:4])), nums[4] * 256 + nums[5]), timeout=30)


@pytest.fixture
def server(tmp_path):
    (tmp_path / "big").write_bytes(os.urandom(64 << 20))
    with Server(tmp_path, anonymous=True, anonymous_access="full") as srv:
        yield srv.port, tmp_path


def test_abor_stops_a_stream_download(server) -> None:
    port, _ = server
    c = Control(port)
    data = c.pasv()
    data.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    c.sock.sendall(b"RETR big\r\n")
    assert c.reply().startswith("150")
    data.recv(1000)  # then stop reading: the server blocks in sendfile
    time.sleep(0.3)
    start = time.monotonic()
    c.sock.sendall(b"ABOR\r\n")
    assert c.reply().startswith("426 transfer aborted by ABOR")
    assert c.reply().startswith("226 ABOR command successful")
    assert time.monotonic() - start < 10
    data.close()
    assert c.cmd("NOOP").startswith("200")  # the session goes on


def test_abor_stops_a_stream_upload_and_keeps_the_partial_file(server) -> None:
    port, root = server
    c = Control(port)
    data = c.pasv()
    c.sock.sendall(b"STOR part\r\n")
    assert c.reply().startswith("150")
    data.sendall(b"x" * 100_000)
    time.sleep(0.3)
    c.sock.sendall(b"ABOR\r\n")
    assert c.reply().startswith("426 transfer aborted by ABOR")
    assert c.reply().startswith("226")
    data.close()
    assert (root / "part").stat().st_size == 100_000
    assert c.cmd("SIZE part") == "213 100000"


def test_abor_stops_a_mode_e_download(server) -> None:
    port, _ = server
    c = Control(port)
    assert c.cmd("MODE E").startswith("200")
    listener = socket.create_server(("127.0.0.1", 0))
    p = listener.getsockname()[1]
    assert c.cmd(f"PORT 127,0,0,1,{p >> 8},{p & 255}").startswith("200")
    c.sock.sendall(b"RETR big\r\n")
    conn, _ = listener.accept()  # accepted, never read: the native sender blocks
    assert c.reply().startswith("150")
    time.sleep(0.3)
    c.sock.sendall(b"ABOR\r\n")
    assert c.reply().startswith("426 transfer aborted by ABOR")
    assert c.reply().startswith("226")
    conn.close()
    listener.close()
    assert c.cmd("MODE S").startswith("200")
