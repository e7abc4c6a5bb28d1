"""Performance markers (GFD.020 112) while a long MODE E transfer runs, with the byte count the native data
path has moved so far; range and performance markers after a MODE E store."""

from __future__ import annotations

import os
import socket
import threading

from wrapgen.gridftp.client import Client
from wrapgen.gridftp.modee import send
from wrapgen.gridftp.server import Server

from .test_abort import Control


def test_perf_markers_during_a_retrieve_and_after_a_store(tmp_path) -> None:
    (tmp_path / "big").write_bytes(os.urandom(32 << 20))
    with Server(tmp_path, anonymous=True, anonymous_access="full", marker_interval=0.2) as srv:
        c = Control(srv.port)
        assert c.cmd("MODE E").startswith("200")
        listener = socket.create_server(("127.0.0.1", 0))
        p = listener.getsockname()[1]
        assert c.cmd(f"PORT 127,0,0,1,{p >> 8},{p & 255}").startswith("200")
        c.sock.sendall(b"RETR big\r\n")
        conn, _ = listener.accept()  # not read yet: the transfer stalls after the socket buffers fill
        assert c.reply().startswith("150")
        lines = []
        while not lines or not lines[-1].startswith("112 "):
            lines.append(c.f.readline().decode().rstrip("\r\n"))
        assert lines[0] == "112-Perf Marker", lines
        moved = int(next(ln for ln in lines if "Stripe Bytes Transferred:" in ln).split(":")[1])
        assert 0 < moved < 32 << 20  # some, not all: the receiver has not read anything yet
        def drain() -> None:
            try:
                while conn.recv(1 << 20):
                    pass
            except OSError:
                pass  # the server may drop its cached connection when the test ends

        t = threading.Thread(target=drain)
        t.start()
        while True:  # more markers may come; then the end
            line = c.f.readline().decode().rstrip("\r\n")
            if line.startswith("226"):
                break
        conn.shutdown(socket.SHUT_RDWR)  # the server keeps MODE E connections open for the next transfer
        t.join(30)
        conn.close()
        listener.close()
        (tmp_path / "up").write_bytes(b"x" * 1000)
        with Client("127.0.0.1", srv.port) as cl:
            cl._mode_e(1)
            target = cl.passive()
            cl.command("ALLO 1000", 200)
            cl._send("STOR /stored")
            with open(tmp_path / "up", "rb") as f:
                send(cl.channels, target, 1, f, 0, 1000)
            replies = []
            while not replies or not replies[-1].startswith("226"):
                replies.append(cl.rfile.readline().decode().rstrip("\r\n"))
            assert "111 Range Marker 0-1000" in replies and "112-Perf Marker" in replies, replies
            assert " Stripe Bytes Transferred: 1000" in replies
