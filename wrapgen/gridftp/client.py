"""`wrapgen.gridftp.Client`: a GridFTP client for wrapgen's server and GCT's (MODE E, parallel streams).

    with Client("127.0.0.1", 2811) as c:            # anonymous unless user/password are given
        c.put("local.bin", "/data/remote.bin", parallel=4)
        c.get("/data/remote.bin", "copy.bin", parallel=4)
        c.checksum("/data/remote.bin", "MD5")

Transfers use MODE E: the sending side connects (GFD.020), so a get listens (PORT) and a put connects to
the server's passive port; the block I/O is the native core's. The session stays open for many files.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

from .errors import GridFTPError
from .modee import Channels, receive, send
from .datachan import Passive


class ReplyError(GridFTPError):
    """The server refused a command; .code and .text hold its reply."""

    def __init__(self, command: str, code: int, text: str) -> None:
        super().__init__(f"{command.split(' ')[0]}: {code} {text}")
        self.code, self.text = code, text


class Client:
    """One control connection to a GridFTP server."""

    def __init__(self, host: str, port: int = 2811, user: str = "anonymous", password: str = "wrapgen@",
                 timeout: float = 60.0) -> None:
        self.host, self.port = host, port
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise GridFTPError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        self.rfile = self.sock.makefile("rb")
        self.local_ip = self.sock.getsockname()[0]
        self.peer_ip = self.sock.getpeername()[0]
        self._read_reply("connect", 220)
        code, text = self.command(f"USER {user}", 230, 331)
        if code == 331:
            self.command(f"PASS {password}", 230)
        self.command("TYPE I", 200)
        self.mode_e = False
        self.channels = Channels()  # connections we opened (puts), reused while the server keeps them

    # --- control channel --------------------------------------------------------------------------------
    def _read_reply(self, command: str, *expect: int) -> tuple[int, str]:
        lines = []
        while True:
            raw = self.rfile.readline(1 << 20)
            if not raw:
                raise GridFTPError(f"{command.split(' ')[0]}: the server closed the control connection")
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line)
            if re.match(r"^\d{3} ", line) and (len(lines) == 1 or line[:3] == lines[0][:3]):
                break
        code = int(lines[-1][:3])
        text = "\n".join(ln[4:] if re.match(r"^\d{3}[ -]", ln) else ln for ln in lines)
        if expect and code not in expect:
            raise ReplyError(command, code, text)
        return code, text

    def _final_reply(self, command: str, *expect: int) -> tuple[int, str]:
        """Skip preliminary replies (150, 111 restart and 112 performance markers) up to the final one."""
        while True:
            code, text = self._read_reply(command)
            if code >= 200:
                if expect and code not in expect:
                    raise ReplyError(command, code, text)
                return code, text

    def command(self, line: str, *expect: int) -> tuple[int, str]:
        """Send one command; returns (code, text), raising ReplyError if the code is not expected."""
        self.sock.sendall(line.encode("utf-8", "surrogateescape") + b"\r\n")
        return self._read_reply(line, *expect)

    # --- information ------------------------------------------------------------------------------------
    def size(self, path: str) -> int:
        """SIZE."""
        return int(self.command(f"SIZE {path}", 213)[1])

    def checksum(self, path: str, algorithm: str = "MD5", offset: int = 0, length: int = -1) -> str:
        """CKSM computed by the server."""
        return self.command(f"CKSM {algorithm} {offset} {length} {path}", 213)[1].strip()

    def mkdir(self, path: str) -> None:
        """MKD."""
        self.command(f"MKD {path}", 257)

    def delete(self, path: str) -> None:
        """DELE."""
        self.command(f"DELE {path}", 250)

    def rename(self, old: str, new: str) -> None:
        """RNFR + RNTO."""
        self.command(f"RNFR {old}", 350)
        self.command(f"RNTO {new}", 250)

    def list(self, path: str = ".") -> dict[str, dict[str, str]]:
        """MLSD: {name: {fact: value}} (facts lower-cased)."""
        data = self._download_bytes(f"MLSD {path}")
        out = {}
        for line in data.decode("utf-8", "surrogateescape").splitlines():
            facts, _, name = line.partition(" ")
            out[name] = {k.lower(): v for k, _, v in (f.partition("=") for f in facts.split(";") if f)}
        return out

    # --- transfers --------------------------------------------------------------------------------------
    def _mode_e(self, parallel: int) -> None:
        if not self.mode_e:
            self.command("MODE E", 200)
            self.mode_e = True
        self.command(f"OPTS RETR Parallelism={parallel},{parallel},{parallel};", 200)

    def _download(self, command: str, f, parallel: int = 1, base: int = 0) -> int:
        self._mode_e(parallel)
        # A fresh listener per download: the server opens its own connections each time it sends to a PORT.
        listener = Passive(self.local_ip, self.peer_ip)
        incoming = Channels()
        try:
            if ":" in self.local_ip:
                self.command(f"EPRT |2|{listener.ip}|{listener.port}|", 200)
            else:
                self.command(f"PORT {listener.ip.replace('.', ',')},{listener.port >> 8},{listener.port & 0xFF}", 200)
            self.sock.sendall(command.encode("utf-8", "surrogateescape") + b"\r\n")
            code, text = self._read_reply(command)
            if code >= 300:
                raise ReplyError(command, code, text)
            n = receive(incoming, listener, f, base)
        finally:
            incoming.drop()
            listener.close()
        self._final_reply(command, 226, 250)
        return n

    def _download_bytes(self, command: str) -> bytes:
        import tempfile

        with tempfile.TemporaryFile() as tmp:
            self._download(command, tmp)
            tmp.seek(0)
            return tmp.read()

    def get(self, remote: str, local: str | os.PathLike[str], parallel: int = 4, offset: int = 0) -> int:
        """Download remote to local (from offset: REST, to finish an interrupted copy); returns bytes received."""
        mode = "r+b" if offset and Path(local).exists() else "wb"
        with open(local, mode) as f:
            if offset:
                self.command(f"REST {offset}", 350)
            return self._download(f"RETR {remote}", f, parallel)

    def put(self, local: str | os.PathLike[str], remote: str, parallel: int = 4) -> int:
        """Upload local to remote over parallel streams; returns bytes sent."""
        with open(local, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self._mode_e(parallel)
            code, text = self.command("PASV", 227)
            m = re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", text)
            if not m:
                raise GridFTPError(f"PASV: cannot read an address in {text!r}")
            nums = [int(x) for x in m.groups()]
            target = (".".join(map(str, nums[:4])), nums[4] * 256 + nums[5])
            self.channels.drop()  # a new PASV port: earlier connections lead elsewhere
            self.command(f"ALLO {size}", 200, 202)
            # GCT answers 150 only once the data connections exist (the sender connects first).
            self.sock.sendall(f"STOR {remote}\r\n".encode("utf-8", "surrogateescape"))
            try:
                n = send(self.channels, target, parallel, f, 0, size)
            except GridFTPError:
                self._final_reply(f"STOR {remote}", 226, 250)  # the server's reason, if it refused
                raise
            finally:
                self.channels.drop()
            self._final_reply(f"STOR {remote}", 226, 250)
            return n

    def close(self) -> None:
        """QUIT and drop the connections."""
        self.channels.drop()
        try:
            self.command("QUIT")
        except (GridFTPError, OSError):
            pass
        for c in (self.rfile, self.sock):
            try:
                c.close()
            except OSError:
                pass

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
