"""`wrapgen.gridftp.Client`: a GridFTP client for wrapgen's server and GCT's (MODE E, parallel streams).

    with Client("127.0.0.1", 2811) as c:            # anonymous unless user/password are given
        c.put("local.bin", "/data/remote.bin", parallel=4)
        c.get("/data/remote.bin", "copy.bin", parallel=4)
        c.checksum("/data/remote.bin", "MD5")

    with Client("grid.example.org", 2811, gsi=True) as c:   # AUTH GSSAPI with the proxy (X509_USER_PROXY),
        c.get("/data/f", "f")                               # delegating it; data channels DCAU A

    transfer(Client(a...), "/data/f", Client(b...), "/in/f")  # third party: a's server sends to b's

Transfers use MODE E: the sending side connects (GFD.020), so a get listens (PORT) and a put connects to
the server's passive port; the block I/O is the native core's. The session stays open for many files.
"""

from __future__ import annotations

import functools
import os
import re
import select
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from .datachan import Passive
from .errors import GridFTPError
from .modee import Channels, receive, send

if TYPE_CHECKING:  # GSI (and the X.509 stack) is imported only by GSI sessions
    from .security import DataAuth, Protected


class ReplyError(GridFTPError):
    """The server refused a command; .code and .text hold its reply."""

    def __init__(self, command: str, code: int, text: str) -> None:
        super().__init__(f"{command.split(' ')[0]}: {code} {text}", transient=400 <= code < 500)
        self.code, self.text = code, text


class Client:
    """One control connection to a GridFTP server."""

    def __init__(self, host: str, port: int = 2811, user: str | None = None, password: str = "wrapgen@",
                 timeout: float = 60.0, gsi: bool = False, credential: str | os.PathLike[str] | None = None,
                 cert_dir: str | os.PathLike[str] | None = None, delegate: bool = True,
                 dcau: bool | None = None, private: bool = False, tcp_buffer: int | None = None,
                 trace=None) -> None:
        """Connect and log in: anonymous, user/password, or GSI (gsi=True: the proxy at credential or
        $X509_USER_PROXY, delegated unless delegate=False; dcau defaults to on when delegating; private=True
        encrypts the data channels too, PROT P). tcp_buffer sets the TCP buffers of data connections at both
        ends (SBUF). trace, a callable, is shown every command and reply line (url-copy -dbg)."""
        self.host, self.port = host, port
        self.protected: Protected | None = None
        self.data_auth: DataAuth | None = None
        self.identity: str | None = None
        self.trace = trace
        self.private = False
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise GridFTPError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        self.rfile = self.sock.makefile("rb")
        self.local_ip = self.sock.getsockname()[0]
        self.peer_ip = self.sock.getpeername()[0]
        try:
            self._read_reply("connect", 220)
            if gsi:
                self._gsi_login(user, credential, cert_dir, delegate, delegate if dcau is None else dcau, private)
            elif private:
                raise GridFTPError("private data channels (PROT P) need a GSI session (gsi=True)")
            else:
                code, text = self.command(f"USER {user or 'anonymous'}", 230, 331)
                if code == 331:
                    self.command(f"PASS {password}", 230)
            self.command("TYPE I", 200)
            if tcp_buffer:
                self.command(f"SBUF {tcp_buffer}", 200)
        except BaseException:
            self._drop()
            raise
        self.mode_e = False
        self._opts_parallel: int | None = None
        self.channels = Channels(bufsize=tcp_buffer)  # connections we opened (puts), reused while the server keeps them
        self._put_target: tuple[str, int] | None = None
        self._listener: Passive | None = None
        self._incoming = Channels()

    def _gsi_login(self, user: str | None, credential, cert_dir, delegate: bool, dcau: bool,
                   private: bool = False) -> None:
        import base64

        from ..gsi import files, gss
        from ..gsi.errors import GSIError
        from ..gsi.proxy import load_credential
        from ..gsi.tls import check_host, client_context
        from ..gsi.verify import verify_chain
        from .security import DataAuth, Protected

        cred_path = credential or files.proxy_path()
        trust = cert_dir or files.cert_dir()
        try:
            cred = load_credential(cred_path)
            ctx = client_context(cred_path, trust)
        except (GSIError, OSError) as exc:
            raise GridFTPError(f"GSI: cannot use credential {cred_path}: {exc}") from None
        if private and not dcau:
            raise GridFTPError("private data channels (PROT P) are encrypted by DCAU A's TLS session: they need "
                               "dcau (and so delegation)")
        if dcau and not delegate:
            raise GridFTPError("DCAU A needs delegation: the server authenticates data connections with the "
                               "credential it was delegated (pass delegate=True, or dcau=False)")
        self.command("AUTH GSSAPI", 334)
        init = gss.Initiator(ctx, self.host, delegate=cred if delegate else None)
        try:
            token = init.step(None)
            while True:
                code, text = self.command("ADAT " + base64.b64encode(token).decode(), 235, 335)
                reply_token = base64.b64decode(text.partition("ADAT=")[2]) if "ADAT=" in text else b""
                if code == 235:
                    break
                token = init.step(reply_token)
            if not init.complete:
                raise GridFTPError("GSI: the server ended the authentication before it was complete")
            chain = init.peer_chain
            check_host(chain[0], self.host)
            verify_chain(chain, trust)  # signing policy and CRL, on top of the handshake's checks
        except GSIError as exc:
            raise GridFTPError(f"GSI authentication with {self.host}:{self.port} failed: {exc}") from None
        self.protected = Protected(init)
        self.identity = cred.identity
        code, _ = self.command(f"USER {user or ':globus-mapping:'}", 230, 331)
        if code == 331:
            self.command("PASS dummy", 230)
        if dcau:
            self.data_auth = DataAuth(cred, trust)
        else:
            self.command("DCAU N", 200)
        if private:
            self.command("PBSZ 1048576", 200)
            self.command("PROT P", 200)
            self.private = True

    # --- control channel --------------------------------------------------------------------------------
    def _read_reply(self, command: str, *expect: int) -> tuple[int, str]:
        lines = []
        while True:
            raw = self.rfile.readline(1 << 20)
            if not raw:
                raise GridFTPError(f"{command.split(' ')[0]}: the server closed the control connection")
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if self.protected is not None and line[:3] in ("631", "632", "633"):
                line = self.protected.unwrap_reply_line(line)
            if self.trace is not None:
                self.trace(f"received: {line}")
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

    def _send(self, *lines: str) -> None:
        """Send command lines (several: pipelined, in one write)."""
        out = b""
        for line in lines:
            if self.trace is not None:
                self.trace("sending: " + ("PASS ****" if line.startswith("PASS ") else line))
            if self.protected is not None:
                out += self.protected.wrap_command(line)
            else:
                out += line.encode("utf-8", "surrogateescape") + b"\r\n"
        self.sock.sendall(out)

    def command(self, line: str, *expect: int) -> tuple[int, str]:
        """Send one command; returns (code, text), raising ReplyError if the code is not expected."""
        self._send(line)
        return self._read_reply(line, *expect)

    @property
    def _secure(self):
        if self.data_auth is None:
            return None
        return functools.partial(self.data_auth.secure, private=self.private)

    # --- information ------------------------------------------------------------------------------------
    def size(self, path: str) -> int:
        """SIZE."""
        return int(self.command(f"SIZE {path}", 213)[1])

    def checksum(self, path: str, algorithm: str = "MD5", offset: int = 0, length: int = -1) -> str:
        """CKSM computed by the server."""
        return self.command(f"CKSM {algorithm} {offset} {length} {path}", 213)[1].strip()

    def stat(self, path: str) -> dict[str, str]:
        """MLST: the facts of one path (lower-cased names); ReplyError 550 if it does not exist."""
        _, text = self.command(f"MLST {path}", 250)
        for line in text.splitlines():
            if line.startswith(" "):
                facts, _, _name = line[1:].partition(" ")
                return {k.lower(): v for k, _, v in (f.partition("=") for f in facts.split(";") if f)}
        raise GridFTPError(f"MLST {path}: no facts in the reply {text!r}")

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
        # Lines end in CRLF and nothing else: a name may hold CR, LF alone, FF, NEL or U+2028
        for line in data.decode("utf-8", "surrogateescape").split("\r\n"):
            if not line:
                continue
            facts, _, name = line.partition(" ")
            out[name] = {k.lower(): v for k, _, v in (f.partition("=") for f in facts.split(";") if f)}
        return out

    # --- transfers --------------------------------------------------------------------------------------
    def _mode_e(self, parallel: int) -> None:
        if not self.mode_e:
            self.command("MODE E", 200)
            self.mode_e = True
        if parallel != self._opts_parallel:
            self.command(f"OPTS RETR Parallelism={parallel},{parallel},{parallel};", 200)
            self._opts_parallel = parallel

    # Data connections are kept between transfers, as globus-url-copy -fast does: downloads keep one PORT
    # listener and the connections the server opened to it; uploads keep the server's PASV address and the
    # connections opened to it. Switching direction (PORT after PASV or the reverse) makes the server drop
    # its side, so this side drops too.
    def _forget_downloads(self) -> None:
        self._incoming.drop()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _forget_uploads(self) -> None:
        self.channels.drop()
        self._put_target = None

    def _download(self, command: str, f, parallel: int = 1, base: int = 0, progress=None, rest: int = 0) -> int:
        self._mode_e(parallel)
        ok = False
        try:
            if self._listener is None:
                self._forget_uploads()
                self._listener = Passive(self.local_ip, self.peer_ip, bufsize=self.channels.bufsize)
                lst = self._listener
                if ":" in self.local_ip:
                    self.command(f"EPRT |2|{lst.ip}|{lst.port}|", 200)
                else:
                    self.command(f"PORT {lst.ip.replace('.', ',')},{lst.port >> 8},{lst.port & 0xFF}", 200)
            listener, incoming = self._listener, self._incoming
            if rest:
                # REST must come right before the transfer command (RFC 959): a server forgets it at the next
                # command, and sent first, before MODE/OPTS/PORT, it resumed nothing -- the whole file came again
                self.command(f"REST {rest}", 350)
            self._send(command)
            # Whichever comes first: the reply (150, or a refusal), or the data (GCT connects, and runs DCAU,
            # before it sends 150). One thread does both in turn; the data side never starts on a refusal.
            ready = select.select([self.sock, listener.sock, *incoming.conns], [], [], 120.0)[0]
            if not ready:
                raise GridFTPError(f"{command.split(' ')[0]}: neither a reply nor data within 120 s")
            if self.sock in ready:
                code, text = self._read_reply(command)
                if code >= 300:
                    raise ReplyError(command, code, text)
                n = receive(incoming, listener, f, base, secure=self._secure, progress=progress)
            else:
                n = receive(incoming, listener, f, base, secure=self._secure, progress=progress)
                code, text = self._read_reply(command)
                if code >= 300:
                    raise ReplyError(command, code, text)
            ok = True
        finally:
            if not ok:
                self._forget_downloads()
        self._final_reply(command, 226, 250)
        return n

    def _download_bytes(self, command: str) -> bytes:
        import tempfile

        with tempfile.TemporaryFile() as tmp:
            self._download(command, tmp)
            tmp.seek(0)
            return tmp.read()

    def get(self, remote: str, local: str | os.PathLike[str], parallel: int = 4, offset: int = 0,
            length: int | None = None, progress=None) -> int:
        """Download remote to local; returns bytes received. offset alone resumes an interrupted copy (REST);
        with length, only that range is fetched (ERET) and written at the same offset of local. progress,
        a wrapgen._core.Progress, counts the bytes as they arrive (for a display in another thread)."""
        mode = "r+b" if (offset or length is not None) and Path(local).exists() else "wb"
        with open(local, mode) as f:
            if length is not None:
                # ERET's blocks carry offsets from the range's start
                return self._download(f"ERET P {offset} {length} {remote}", f, parallel, base=offset,
                                      progress=progress)
            return self._download(f"RETR {remote}", f, parallel, progress=progress, rest=offset)

    def put(self, local: str | os.PathLike[str], remote: str, parallel: int = 4, offset: int = 0,
            length: int | None = None, progress=None) -> int:
        """Upload local to remote over parallel streams; returns bytes sent. With offset/length, that range of
        local is written at the same offset of remote, the rest of remote kept (ESTO). progress as for get."""
        with open(local, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            partial = bool(offset) or length is not None
            n = max(0, min(size - offset, length if length is not None else size))
            self._mode_e(parallel)
            if self._put_target is None or (self.channels.conns and len(self.channels.conns) != parallel):
                self._put_target = self.passive()
            target = self._put_target
            command = f"ESTO A {offset} {remote}" if partial else f"STOR {remote}"
            # ALLO and the store go in one write (one round trip less per file); GCT answers 150 only once the
            # data connections exist (the sender connects first), so the data follows at once.
            self._send(f"ALLO {n}", command)
            try:
                self._read_reply(f"ALLO {n}", 200, 202)
            except BaseException:
                self.close_now()  # the store is already on its way and would wait for data: end the session
                raise
            try:
                sent = send(self.channels, target, parallel, f, offset, n, secure=self._secure,
                            block_base=0 if partial else None, progress=progress)
            except GridFTPError:
                self._forget_uploads()
                self._final_reply(command, 226, 250)  # the server's reason, if it refused
                raise
            try:
                self._final_reply(command, 226, 250)
            except BaseException:
                self._forget_uploads()
                raise
            return sent

    def passive(self) -> tuple[str, int]:
        """PASV: the (address, port) the server listens on (the data connections kept so far are dropped:
        the server drops its side too)."""
        self._forget_uploads()
        self._forget_downloads()
        code, text = self.command("PASV", 227)
        m = re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", text)
        if not m:
            raise GridFTPError(f"PASV: cannot read an address in {text!r}")
        nums = [int(x) for x in m.groups()]
        return ".".join(map(str, nums[:4])), nums[4] * 256 + nums[5]

    def close(self) -> None:
        """QUIT and drop the connections."""
        self._forget_uploads()
        self._forget_downloads()
        try:
            self.command("QUIT")
        except (GridFTPError, OSError):
            pass
        self._drop()

    def interrupt(self) -> None:
        """Stop whatever this session is doing, from another thread: the data and control connections are shut
        down (not closed, so no descriptor is reused under the transfer), and the transfer fails at once."""
        self.channels.abort()
        self._incoming.abort()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close_now(self) -> None:
        """Drop the connections without QUIT (the server may be busy with a transfer that will not finish)."""
        self._forget_uploads()
        self._forget_downloads()
        self._drop()

    def _drop(self) -> None:
        for c in (self.rfile, self.sock):
            try:
                c.close()
            except OSError:
                pass

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def transfer(src: Client, src_path: str, dst: Client, dst_path: str, parallel: int = 4) -> None:
    """Third-party transfer: src's server sends src_path straight to dst's server (MODE E, parallel streams).

    Data connections are authenticated (DCAU A) only when both sessions are GSI and delegated; otherwise the
    GSI side is told DCAU N, as globus-url-copy does for mixed ftp:// and gsiftp:// pairs.
    """
    both = src.data_auth is not None and dst.data_auth is not None
    for c in (src, dst):
        if c.protected is not None and not both and c.data_auth is not None:
            c.command("DCAU N", 200)
            c.data_auth = None
        c._mode_e(parallel)
    host, port = dst.passive()
    src._forget_uploads()  # the PORT below points src's server elsewhere: what it kept is gone
    src._forget_downloads()
    dst.command("ALLO " + str(src.size(src_path)), 200, 202)
    dst._send(f"STOR {dst_path}")
    try:
        src.command(f"PORT {host.replace('.', ',')},{port >> 8},{port & 0xFF}", 200)
        src.command(f"RETR {src_path}", 150, 125)
        src._final_reply(f"RETR {src_path}", 226, 250)
    except BaseException:
        # The destination waits for data that will not come: end its session rather than wait for its
        # stall limit (the caller opens a new one to retry).
        dst.close_now()
        raise
    dst._final_reply(f"STOR {dst_path}", 226, 250)
