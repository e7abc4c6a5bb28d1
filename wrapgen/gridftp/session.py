"""One control connection: the RFC 959 / 2389 / 3659 / 2428 command set with GridFTP's (GFD.020) where it
applies to stream mode. Every error is a reply; nothing a client sends ends the server."""

from __future__ import annotations

import base64
import binascii
import errno
import functools
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..gsi import gss
from ..gsi.errors import GSIError
from ..gsi.proxy import Credential
from ..gsi.verify import verify_chain
from .errors import GridFTPError

from .. import _core
from . import modee
from .datachan import DataError, Passive, connect, receive_file, send_file, send_lines
from .modee import Channels
from .jail import Jail, PathRefused
from .security import DataAuth, Protected
from .listing import MLST_FACTS, entries, facts, ls_line, mtime_text

if TYPE_CHECKING:
    from .server import Server

log = logging.getLogger("wrapgen.gridftp")

MAX_LINE = 4096
MAX_TOKEN_LINE = 64 * 1024  # ADAT/ENC lines: a base64 TLS flight with a proxy chain is often over 4 KiB
NO_LOGIN = {"USER", "PASS", "QUIT", "FEAT", "HELP", "SYST", "NOOP", "AUTH", "ADAT", "OPTS", "PBSZ", "PROT"}
CLEAR_ONLY = {"AUTH", "ADAT"}  # the only commands a protected session may send unwrapped (besides QUIT)
WATCH_ABOR_FROM = 8 << 20  # bytes: smaller transfers are not watched for ABOR (see Session.abortable)
CKSM_ALGORITHMS = ("MD5", "ADLER32", "SHA1", "SHA256", "SHA512", "CRC32C")


class Reply(Exception):
    """Answer the current command with this code and text (and stop handling it)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


def _number(text: str, message: str, low: int | None = 0, high: int | None = None, base: int = 10) -> int:
    """An integer argument within [low, high]; anything else is the 501 reply `message`."""
    try:
        n = int(text, base)
    except ValueError:
        raise Reply(501, message) from None
    if (low is not None and n < low) or (high is not None and n > high):
        raise Reply(501, message)
    return n


def _os_reply(exc: OSError, what: str) -> Reply:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Reply(452, f"{what}: no space left on the server's disk")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return Reply(550, f"{what}: permission denied")
    if exc.errno == errno.ENOENT:
        return Reply(550, f"{what}: no such file or directory")
    if exc.errno == errno.EISDIR:
        return Reply(550, f"{what}: is a directory")
    if exc.errno == errno.ENOTDIR:
        return Reply(550, f"{what}: not a directory")
    if exc.errno == errno.ENOTEMPTY:
        return Reply(550, f"{what}: directory not empty")
    if exc.errno == errno.EEXIST:
        return Reply(550, f"{what}: already exists")
    return Reply(451, f"{what}: {exc.strerror or exc}")


class Session:
    """The state of one client: login, directory, transfer parameters."""

    def __init__(self, server: Server, conn: socket.socket, addr: tuple) -> None:
        self.server, self.conn, self.addr = server, conn, addr
        self.client_ip = addr[0]
        self.local_ip = conn.getsockname()[0]
        self.rfile = conn.makefile("rb")
        self.user: str | None = None
        self.pending_user: str | None = None
        self.jail: Jail | None = None
        self.cwd = "/"
        self.type_ascii = False
        self.rest = 0
        self.rename_from: Path | None = None
        self.passive: Passive | None = None
        self.active: tuple[str, int] | None = None
        self.mode_e = False
        self.parallel = 1
        self.channels = Channels()
        self.failed_logins = 0
        # GSI (AUTH GSSAPI): the context while ADAT runs, then the protected channel and who the peer is
        self.gss: gss.Acceptor | None = None
        self.protected: Protected | None = None
        self.reply_verb = "ENC"
        self.identity: str | None = None
        self.delegated: Credential | None = None
        self.dcau: str | None = None  # None: the default (A after a GSI login, else N)
        self._data_auth: DataAuth | None = None
        self._held = b""
        self.prot = "C"
        self.allo: int | None = None  # ALLO's size for the next STOR (decides whether ABOR is watched for)
        self.aborted = False
        self._stream_conn: socket.socket | None = None

    # --- I/O ------------------------------------------------------------------------------------------
    def send(self, code: int, text: str, hold: bool = False) -> None:
        """A reply; multi-line text becomes code-first lines and a final 'code End.' style line. hold=True
        keeps it to go out with the next reply (markers before a 226: one write instead of three)."""
        lines = text.split("\n")
        if len(lines) == 1:
            data = f"{code} {text}\r\n"
            if code == 0:
                return
        else:
            # The first line carries 'code-'; RFC 2389 feature lines (and MLST's fact line) start with a space
            # and go as they are, which is what FTP clients parse them by.
            first, *middle = lines[:-1]
            data = f"{code}-{first}\r\n" + "".join(f"{ln}\r\n" if ln.startswith(" ") else f"{code}-{ln}\r\n"
                                                     for ln in middle) + f"{code} {lines[-1]}\r\n"
        raw = data.encode("utf-8", "replace")
        if self.protected is not None:
            raw = self.protected.wrap_reply(raw, self.reply_verb)
        if hold:
            self._held += raw
            return
        if self._held:
            raw, self._held = self._held + raw, b""
        self.conn.sendall(raw)

    def perf_marker(self, moved: int, hold: bool = False) -> None:
        """A GFD.020 112 performance marker: the bytes moved so far on this (single) stripe."""
        self.send(112, f"Perf Marker\n Timestamp: {time.time():.1f}\n Stripe Index: 0\n"
                       f" Stripe Bytes Transferred: {moved}\n Total Stripe Count: 1\nEnd.", hold=hold)

    def readline(self) -> str | None:
        """The next command line; None at EOF. Overlong lines are refused and skipped: MAX_LINE bytes for a
        command, MAX_TOKEN_LINE for the RFC 2228 lines that carry tokens (ADAT with a long certificate
        chain, ENC/MIC/CONF)."""
        line = self.rfile.readline(MAX_TOKEN_LINE + 1)
        if not line:
            return None
        limit = MAX_TOKEN_LINE if line[:5].upper().startswith((b"ADAT ", b"ENC ", b"MIC ", b"CONF ")) else MAX_LINE
        if len(line) > limit:
            if len(line) > MAX_TOKEN_LINE and not line.endswith(b"\n"):
                while True:  # skip the rest of the overlong line
                    more = self.rfile.readline(MAX_TOKEN_LINE + 1)
                    if not more or more.endswith(b"\n"):
                        break
            self.send(500, f"command line too long (over {limit} bytes)")
            return ""
        return line.decode("utf-8", "surrogateescape").rstrip("\r\n")

    def run(self) -> None:
        """Serve commands until QUIT or the connection ends."""
        self.send(220, "wrapgen GridFTP Server ready.")
        while True:
            try:
                line = self.readline()
            except (OSError, ValueError):
                return
            if line is None:
                return
            if not line:
                continue
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if self.protected is not None:
                if verb in ("ENC", "MIC", "CONF"):
                    try:
                        self.reply_verb, line = self.protected.unwrap_command(line)
                    except GridFTPError as exc:
                        # TLS treats a bad record as fatal: nothing can be protected any more, so say why in
                        # clear and end the session.
                        self.protected = None
                        self.send(421, f"{exc}; the protected channel is broken, closing the session")
                        return
                    verb, _, arg = line.partition(" ")
                    verb = verb.upper()
                elif verb not in CLEAR_ONLY and verb != "QUIT":
                    self.send(533, f"{verb[:20]}: after AUTH GSSAPI every command must be protected (ENC or MIC)")
                    continue
            elif self.server.gsi_only and verb not in ("AUTH", "ADAT", "QUIT", "FEAT", "HELP", "SYST", "NOOP"):
                self.send(530, "Must perform GSSAPI authentication.")
                continue
            handler: Callable[[str], None] | None = getattr(self, f"cmd_{verb}", None)
            keep = False
            try:
                if handler is None or not verb.isalpha():
                    raise Reply(500, f"'{verb[:40]}': command not understood")
                if self.user is None and verb not in NO_LOGIN:
                    raise Reply(530, "Please login with USER and PASS.")
                handler(arg)
                if verb == "QUIT":
                    return
            except _Keep:
                keep = True  # REST and RNFR replied themselves; their state is for the next command
            except Reply as r:
                self.send(r.code, r.text)
            except PathRefused as exc:
                self.send(550, str(exc))
            except DataError as exc:
                self.send(425, str(exc))
            except (BrokenPipeError, ConnectionResetError):
                return
            except OSError as exc:
                r = _os_reply(exc, arg or verb)
                self.send(r.code, r.text)
            except Exception:  # a bug must fail the command, not the server
                log.exception("command %s failed", verb)
                self.send(451, "internal server error; the command was not carried out")
            if not keep:
                self.rest = 0
                self.rename_from = None
                self.allo = None

    def shutdown(self) -> None:
        """End the session from another thread: its blocked read sees end of file."""
        try:
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        """Drop the connections (from the session's own thread)."""
        self.channels.drop()
        if self.passive is not None:
            self.passive.close()
        for closer in (self.rfile.close, self.conn.close):
            try:
                closer()
            except OSError:
                pass

    # --- helpers --------------------------------------------------------------------------------------
    def path(self, arg: str, must_exist: bool = False) -> Path:
        """The real path of a command argument inside the session's root."""
        assert self.jail is not None
        if not arg:
            raise Reply(501, "a path is required")
        return self.jail.real(self.cwd, arg, must_exist)

    def data_connection(self) -> socket.socket:
        """The data connection prepared by PASV/EPSV or PORT/EPRT."""
        secure = self.secure()
        if self.passive is not None:
            passive, self.passive = self.passive, None
            try:
                conn, we_connected = passive.connection(), False
            finally:
                passive.close()
        elif self.active is not None:
            ip, port = self.active
            self.active = None
            conn, we_connected = connect(ip, port, bufsize=self.channels.bufsize), True
        else:
            raise Reply(425, "use PASV, EPSV, PORT or EPRT first")
        if secure is not None:
            try:
                conn = secure(conn, we_connected) or conn  # the connecting side initiates the GSS exchange
            except Exception:
                conn.close()
                raise
        return conn

    def secure(self):
        """The DCAU step for new data connections: None (DCAU N) or DataAuth.secure."""
        mode = self.dcau or ("A" if self.identity else "N")
        if mode == "N":
            return None
        if self.delegated is None:
            raise Reply(425, "DCAU A needs a delegated credential: log in with delegation (globus-url-copy does) "
                             "or send DCAU N")
        if self._data_auth is None:
            assert self.server.gsi is not None and self.server.gsi.cert_dir is not None
            self._data_auth = DataAuth(self.delegated, self.server.gsi.cert_dir, expect=self.identity)
        return functools.partial(self._data_auth.secure, private=self.prot == "P")

    # --- login ----------------------------------------------------------------------------------------
    def cmd_USER(self, arg: str) -> None:
        if self.user is not None:
            raise Reply(503, f"already logged in as {self.user}")
        if not arg:
            raise Reply(501, "USER needs a name")
        self.pending_user = arg
        if self.identity is not None:
            raise Reply(331, f"Password required for {arg}.")  # GCT's wording; PASS is not checked after GSI
        if arg in ("anonymous", "ftp") and self.server.anonymous:
            raise Reply(331, "Guest login ok, send your e-mail address as password.")
        raise Reply(331, f"Password required for {arg}.")

    def cmd_PASS(self, arg: str) -> None:
        if self.pending_user is None:
            raise Reply(503, "send USER first")
        user, self.pending_user = self.pending_user, None
        home = "/"
        if self.identity is not None:
            assert self.server.gsi is not None
            try:
                name = self.server.gsi.accounts().authorize(self.identity, None if user == ":globus-mapping:" else user)
            except GSIError as exc:
                raise Reply(530, f"Login incorrect. {exc}") from None
            account = self.server.passwords.account(name) if self.server.passwords else None
            home = account.home if account else "/"
        elif user in ("anonymous", "ftp") and self.server.anonymous:
            name = "anonymous"
        else:
            account = self.server.passwords.login(user, arg) if self.server.passwords else None
            if account is None:
                self.failed_logins += 1
                time.sleep(min(2.0, 0.2 * self.failed_logins))  # slow down guessing
                raise Reply(530, "Login incorrect.")
            name, home = account.user, account.home
        root = self.server.root / home.lstrip("/")
        try:
            self.jail = Jail(root)
        except Exception:
            raise Reply(530, f"the home directory of {user} does not exist on this server") from None
        self.user, self.cwd = name, "/"
        raise Reply(230, f"User {name} logged in.")

    def cmd_QUIT(self, arg: str) -> None:
        self.send(221, "Goodbye.")

    # --- information ----------------------------------------------------------------------------------
    def cmd_NOOP(self, arg: str) -> None:
        raise Reply(200, "NOOP command successful.")

    def cmd_SYST(self, arg: str) -> None:
        raise Reply(215, "UNIX Type: L8")

    def cmd_FEAT(self, arg: str) -> None:
        feats = ["Extensions supported", " UTF8", " LANG EN", " SIZE", " MDTM", " MFMT", " REST STREAM",
                 f" MLST {MLST_FACTS}", " EPSV", " EPRT", " SBUF", " DCAU", " WHOAMI", " PARALLEL", " ERET", " ESTO", " SPAS", " SPOR"]
        if self.user is not None:
            feats.insert(1, " CKSM " + "".join(f"{a}:10;" for a in CKSM_ALGORITHMS))
        self.send(211, "\n".join(feats) + "\nEnd.")

    def cmd_OPTS(self, arg: str) -> None:
        what, _, rest = arg.partition(" ")
        what = what.upper()
        if what == "UTF8":
            raise Reply(200, "UTF8 mode is always on.")
        if what == "MLST":
            raise Reply(200, f"MLST OPTS {MLST_FACTS}")
        if what == "RETR":
            for opt in rest.split(";"):
                key, _, value = opt.strip().partition("=")
                if key.lower() == "parallelism":
                    self.parallel = _number(value.split(",")[0], f"Parallelism={value[:20]}: expected 1 to "
                                            f"{modee.MAX_PARALLEL}", 1, modee.MAX_PARALLEL)
            raise Reply(200, "OPTS Command Successful.")
        raise Reply(501, f"OPTS {what[:20]}: option not supported")

    def cmd_HELP(self, arg: str) -> None:
        verbs = sorted(n[4:] for n in dir(self) if n.startswith("cmd_"))
        self.send(214, "The following commands are recognized:\n" + " ".join(verbs) + "\nEnd.")

    def cmd_STAT(self, arg: str) -> None:
        if not arg:
            self.send(211, f"wrapgen GridFTP server status:\nLogged in as {self.user}\nTYPE: "
                           f"{'ASCII' if self.type_ascii else 'BINARY'}; MODE: Stream; STRUcture: File\nEnd of status.")
            return
        p = self.path(arg, must_exist=True)
        lines = [ls_line(q, q.name) for q in entries(p)] if p.is_dir() else [ls_line(p, p.name)]
        self.send(213, "status of " + arg + ":\n" + "\n".join(lines) + "\nEnd of status.")

    def cmd_SITE(self, arg: str) -> None:
        sub, _, rest = arg.partition(" ")
        sub = sub.upper()
        if sub == "HELP":
            self.send(214, "The following SITE commands are recognized:\nHELP CHMOD CLIENTINFO WHOAMI\nEnd.")
        elif sub == "CLIENTINFO":
            raise Reply(250, "OK.")
        elif sub == "WHOAMI":
            raise Reply(200, str(self.user))
        elif sub == "CHMOD":
            mode_text, _, name = rest.partition(" ")
            mode = _number(mode_text, f"SITE CHMOD: {mode_text!r} is not an octal mode", 0, 0o7777, base=8)
            os.chmod(self.path(name, must_exist=True), mode & 0o777)
            raise Reply(200, "SITE CHMOD command successful.")
        else:
            raise Reply(500, f"SITE {sub[:20]}: command not understood")

    # --- transfer parameters --------------------------------------------------------------------------
    def cmd_TYPE(self, arg: str) -> None:
        t = arg.upper().split()
        if t and t[0] == "I" or t == ["L", "8"]:
            self.type_ascii = False
            raise Reply(200, "Type set to I.")
        if t and t[0] == "A":
            self.type_ascii = True
            raise Reply(200, "Type set to A.")
        raise Reply(504, f"TYPE {arg[:20]}: only A and I are supported")

    def cmd_MODE(self, arg: str) -> None:
        if arg.upper() == "S":
            self.mode_e = False
            self.channels.drop()
            raise Reply(200, "Mode set to S.")
        if arg.upper() == "E":
            self.mode_e = True
            raise Reply(200, "Mode set to E.")
        raise Reply(504, f"MODE {arg[:20]}: unknown mode; use S")

    def cmd_STRU(self, arg: str) -> None:
        if arg.upper() == "F":
            raise Reply(200, "Structure set to F.")
        raise Reply(504, f"STRU {arg[:20]}: only F (file) is supported")

    def cmd_SBUF(self, arg: str) -> None:
        size = _number(arg, f"SBUF {arg[:20]}: expected a number of bytes (0 for the system's default, at most "
                            "1 GiB)", 0, 1 << 30)
        if size != self.channels.bufsize:
            self.channels.drop()  # cached connections have the old buffers
        self.channels.bufsize = size or None
        raise Reply(200, "SBUF command successful.")

    def cmd_ALLO(self, arg: str) -> None:
        self.allo = _number(arg.split()[0], f"ALLO {arg[:20]}: expected a size in bytes", None) \
            if arg.strip() else None
        self.send(200, "ALLO command successful.")
        raise _Keep()

    def cmd_DCAU(self, arg: str) -> None:
        mode = arg.upper()
        if mode == "N":
            if self.prot == "P":
                raise Reply(503, "DCAU N: PROT P is in force and needs DCAU A; send PROT C first")
            self.dcau = "N"
            self.channels.drop()  # cached connections were authenticated (or not) under the old setting
            raise Reply(200, "DCAU N.")
        if mode == "A":
            if self.identity is None:
                raise Reply(504, "DCAU A: data channel authentication needs a GSI login (AUTH GSSAPI); use DCAU N")
            self.dcau = "A"
            self.channels.drop()
            raise Reply(200, "DCAU A.")
        raise Reply(504, f"DCAU {arg[:30]}: expected N or A (S <subject> is not supported)")

    def cmd_PBSZ(self, arg: str) -> None:
        size = _number(arg, f"PBSZ {arg[:20]}: expected a buffer size in bytes")
        raise Reply(200, f"PBSZ={size}")

    def cmd_PROT(self, arg: str) -> None:
        level = arg.upper()
        if level == "C":
            self.prot = "C"
            self.channels.drop()
            raise Reply(200, "Protection level set to Clear.")
        if level == "P":
            if self.identity is None:
                raise Reply(536, "PROT P: private data channels need a GSI login (AUTH GSSAPI)")
            if (self.dcau or "A") != "A":
                raise Reply(536, "PROT P: private data channels need DCAU A (the TLS session that encrypts them)")
            self.prot = "P"
            self.channels.drop()
            raise Reply(200, "Protection level set to Private.")
        raise Reply(536, f"PROT {arg[:20]}: supported levels are C (clear) and P (private)")

    def cmd_REST(self, arg: str) -> None:
        # A byte offset (RFC 3659), or GridFTP's ranges already transferred ("0-1000,2000-5000", from 111
        # markers): the transfer resumes after the range that starts at 0, if only one gap is left.
        message = f"REST {arg[:30]}: expected a byte offset or ranges like 0-1000"
        try:
            if "-" in arg:
                ranges = sorted(tuple(int(x) for x in r.split("-")) for r in arg.split(","))
                end = 0
                for a, b in ranges:
                    if a < 0 or b < a:
                        raise ValueError
                    if a > end:
                        raise Reply(501, f"REST {arg[:60]}: the ranges leave a gap at {end}-{a}; only a "
                                         "restart after one range from 0 is supported")
                    end = max(end, b)
                offset = end
            else:
                offset = _number(arg, message)
        except ValueError:
            raise Reply(501, message) from None
        self.rest = offset
        self.send(350, f"Restarting at {offset}. Send STORE or RETRIEVE to initiate transfer.")
        raise _Keep()

    # --- data connections -----------------------------------------------------------------------------
    def _listen(self) -> Passive:
        if self.passive is not None:
            self.passive.close()
        self.channels.drop()
        self.active = None
        self.passive = Passive(self.local_ip, self.client_ip, self.server.port_range, self.channels.bufsize)
        return self.passive

    def cmd_PASV(self, arg: str) -> None:
        if ":" in self.local_ip:
            raise Reply(500, "PASV is for IPv4; use EPSV")
        p = self._listen()
        h = p.ip.replace(".", ",")
        raise Reply(227, f"Entering Passive Mode ({h},{p.port >> 8},{p.port & 0xFF})")

    def cmd_EPSV(self, arg: str) -> None:
        if arg.upper() == "ALL":
            raise Reply(200, "EPSV ALL command successful.")
        p = self._listen()
        raise Reply(229, f"Entering Extended Passive Mode (|||{p.port}|)")

    def cmd_SPAS(self, arg: str) -> None:
        if ":" in self.local_ip:
            raise Reply(500, "SPAS is for IPv4; use EPSV")
        p = self._listen()
        h = p.ip.replace(".", ",")
        self.send(229, f"Entering Striped Passive Mode\n {h},{p.port >> 8},{p.port & 0xFF}\nEnd")

    def cmd_SPOR(self, arg: str) -> None:
        addrs = arg.split()
        if len(addrs) != 1:
            raise Reply(501, f"SPOR: this server is not striped; give one h1,h2,h3,h4,p1,p2 address, not {len(addrs)}")
        self.cmd_PORT(addrs[0])

    def _active(self, ip: str, port: int) -> None:
        # Another address is how third-party transfers work (the client points this server at another
        # server's passive port), and how FTP bounce attacks work: it is allowed to GSI-authenticated users
        # only (a verified, grid-mapped identity, as GCT's servers do), never to anonymous or password ones.
        if ip != self.client_ip and self.identity is None:
            raise Reply(501, f"data connections go to the client's own address {self.client_ip}, not {ip} "
                             "(FTP bounce refused; third-party transfers need a GSI login)")
        if not 1024 <= port <= 65535:
            raise Reply(501, f"port {port} is not allowed (1024-65535)")
        if self.passive is not None:
            self.passive.close()
            self.passive = None
        if self.channels.target != ("port", ip, port):
            self.channels.drop()
        self.active = (ip, port)
        raise Reply(200, "PORT command successful.")

    def cmd_PORT(self, arg: str) -> None:
        parts = arg.split(",")
        try:
            nums = [int(x) for x in parts]
            if len(nums) != 6 or not all(0 <= n <= 255 for n in nums):
                raise ValueError
        except ValueError:
            raise Reply(501, f"PORT {arg[:40]}: expected h1,h2,h3,h4,p1,p2") from None
        self._active(".".join(map(str, nums[:4])), nums[4] * 256 + nums[5])

    def cmd_EPRT(self, arg: str) -> None:
        if len(arg) < 5:
            raise Reply(501, "EPRT: expected |proto|address|port|")
        d = arg[0]
        parts = arg.split(d)
        try:
            if len(parts) != 5 or parts[1] not in ("1", "2"):
                raise ValueError
            ip, port = parts[2], int(parts[3])
            socket.inet_pton(socket.AF_INET if parts[1] == "1" else socket.AF_INET6, ip)
        except (ValueError, OSError):
            raise Reply(501, f"EPRT {arg[:60]}: expected |1|a.b.c.d|port| or |2|ipv6|port|") from None
        self._active(ip, port)

    # --- files and directories ------------------------------------------------------------------------
    def cmd_PWD(self, arg: str) -> None:
        raise Reply(257, f'"{self.cwd}" is current directory.')

    def cmd_CWD(self, arg: str) -> None:
        assert self.jail is not None
        p = self.path(arg or "/", must_exist=True)
        if not p.is_dir():
            raise Reply(550, f"{arg}: not a directory")
        if not os.access(p, os.X_OK):
            raise Reply(550, f"{arg}: permission denied")
        self.cwd = self.jail.to_virtual(p)
        raise Reply(250, "CWD command successful.")

    def cmd_CDUP(self, arg: str) -> None:
        self.cmd_CWD("..")

    def cmd_MKD(self, arg: str) -> None:
        assert self.jail is not None
        p = self.path(arg)
        p.mkdir()
        raise Reply(257, f'"{self.jail.to_virtual(p)}" directory created.')

    def cmd_RMD(self, arg: str) -> None:
        p = self.path(arg, must_exist=True)
        if self.jail is not None and p == self.jail.root:
            raise Reply(550, "the root directory cannot be removed")
        p.rmdir()
        raise Reply(250, "RMD command successful.")

    def cmd_DELE(self, arg: str) -> None:
        p = self.path(arg, must_exist=True)
        if p.is_dir():
            raise Reply(550, f"{arg}: is a directory (use RMD)")
        p.unlink()
        raise Reply(250, "DELE command successful.")

    def cmd_RNFR(self, arg: str) -> None:
        self.rename_from = self.path(arg, must_exist=True)
        self.send(350, "File exists, ready for destination name.")
        raise _Keep()

    def cmd_RNTO(self, arg: str) -> None:
        if self.rename_from is None:
            raise Reply(503, "send RNFR first")
        src, self.rename_from = self.rename_from, None
        os.rename(src, self.path(arg))
        raise Reply(250, "RNTO command successful.")

    def cmd_SIZE(self, arg: str) -> None:
        p = self.path(arg, must_exist=True)
        if not p.is_file():
            raise Reply(550, f"{arg}: not a regular file")
        raise Reply(213, str(p.stat().st_size))

    def cmd_MDTM(self, arg: str) -> None:
        raise Reply(213, mtime_text(self.path(arg, must_exist=True).stat().st_mtime))

    def cmd_MFMT(self, arg: str) -> None:
        stamp, _, name = arg.partition(" ")
        try:
            t = time.strptime(stamp[:14], "%Y%m%d%H%M%S")
        except ValueError:
            raise Reply(501, f"MFMT {stamp[:20]}: expected YYYYMMDDHHMMSS") from None
        import calendar

        when = calendar.timegm(t)
        os.utime(self.path(name, must_exist=True), (when, when))
        raise Reply(213, f"Modify={stamp[:14]}; {name}")

    def cmd_MLST(self, arg: str) -> None:
        assert self.jail is not None
        p = self.path(arg or ".", must_exist=True)
        self.send(250, f"Listing {arg or self.cwd}\n {facts(p, self.jail.to_virtual(p))}\nEnd.")

    def cmd_CKSM(self, arg: str) -> None:
        from ..checksum import ChecksumError, file_checksum

        parts = arg.split(" ", 3)
        if len(parts) != 4:
            raise Reply(501, "CKSM needs: algorithm offset length path")
        alg, off, length, name = parts
        if alg.upper() not in CKSM_ALGORITHMS:
            raise Reply(504, f"unknown checksum algorithm {alg[:20]}; supported: {', '.join(CKSM_ALGORITHMS)}")
        message = f"CKSM: offset {off[:20]!r} and length {length[:20]!r} must be integers (length -1 for the rest)"
        offset, n = _number(off, message), _number(length, message, -1)
        p = self.path(name, must_exist=True)
        if not p.is_file():
            raise Reply(550, f"{name}: not a regular file")
        try:
            digest = file_checksum(str(p), alg.upper(), offset=offset, length=n)
        except ChecksumError as exc:
            raise Reply(501, str(exc).replace(str(p), name)) from None  # never show the real path
        raise Reply(213, digest)

    # --- transfers ------------------------------------------------------------------------------------
    def _listing(self, arg: str, kind: str) -> None:
        assert self.jail is not None
        target = arg
        if kind == "LIST" and target.startswith("-"):  # ls options some clients send
            target = target.partition(" ")[2] if " " in target else ""
        p = self.path(target or ".", must_exist=True)
        if kind == "MLSD" and not p.is_dir():
            raise Reply(501, f"{arg}: not a directory (MLSD lists directories; use MLST)")
        # Links that lead outside the root are left out: they could only reveal what lies there.
        items = [q for q in (entries(p) if p.is_dir() else [p]) if self.jail.inside(q)]
        if kind == "LIST":
            lines = [ls_line(q, q.name) for q in items]
        elif kind == "NLST":
            lines = [q.name for q in items]
        else:
            lines = [facts(p, ".", "cdir")] + [facts(q, q.name) for q in items]
        if self.mode_e:
            import tempfile

            with tempfile.TemporaryFile() as tmp:
                tmp.write("".join(f"{line}\r\n" for line in lines).encode("utf-8", "surrogateescape"))
                tmp.flush()
                secure = self.secure()
                self.send(150, "Opening BINARY mode data connection for file list.")
                modee.send(self.channels, self.active, self.parallel, tmp, 0, tmp.tell(), secure)
            raise Reply(226, "Transfer complete.")
        conn = self.data_connection()
        try:
            self.send(150, "Opening ASCII mode data connection for file list.")
            send_lines(conn, lines)
        finally:
            conn.close()
        raise Reply(226, "Transfer complete.")

    def cmd_LIST(self, arg: str) -> None:
        self._listing(arg, "LIST")

    def cmd_NLST(self, arg: str) -> None:
        self._listing(arg, "NLST")

    def cmd_MLSD(self, arg: str) -> None:
        self._listing(arg, "MLSD")

    def cmd_RETR(self, arg: str) -> None:
        self._retrieve(arg, self.rest, None)

    def cmd_ERET(self, arg: str) -> None:
        # GFD.020 partial retrieve: ERET P <offset> <length> <path>
        parts = arg.split(" ", 3)
        message = "ERET: expected 'P <offset> <length> <path>' (the only module is P, partial)"
        if len(parts) != 4 or parts[0].upper() != "P":
            raise Reply(501, message)
        self._retrieve(parts[3], _number(parts[1], message), _number(parts[2], message))

    def _retrieve(self, arg: str, offset: int, length: int | None) -> None:
        p = self.path(arg, must_exist=True)
        if not p.is_file():
            raise Reply(550, f"{arg}: not a regular file")
        with open(p, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if offset > size:
                what = "REST" if length is None else "ERET offset"
                raise Reply(554, f"{what} {offset} is beyond the end of {arg} ({size} bytes)")
            n = size - offset if length is None else min(length, size - offset)
            if self.mode_e:
                secure = self.secure()
                self.send(150, "Opening BINARY mode data connection.")
                # RETR after REST: blocks carry file offsets; ERET: offsets from the range's start (as GCT does)
                progress = _core.Progress()
                with self.abortable(n, progress):
                    modee.send(self.channels, self.active, self.parallel, f, offset, n, secure,
                               block_base=None if length is None else 0, progress=progress)
                raise Reply(226, "Transfer complete.")
            conn = self.data_connection()
            try:
                self.send(150, f"Opening {'ASCII' if self.type_ascii else 'BINARY'} mode data connection.")
                self._stream_conn = conn
                try:
                    with self.abortable(n):
                        send_file(conn, f, offset, self.type_ascii, n)
                except OSError as exc:
                    raise Reply(426, f"connection closed; transfer aborted ({exc.strerror or exc})") from None
            finally:
                self._stream_conn = None
                conn.close()
        raise Reply(226, "Transfer complete.")

    def _store(self, arg: str, how: str, offset: int = 0) -> None:
        """STOR (from REST's offset, truncating), APPE (at the end) or ESTO A (at offset, keeping the rest)."""
        p = self.path(arg)
        if p.is_dir():
            raise Reply(550, f"{arg}: is a directory")
        if how == "appe":
            f = open(p, "ab")
        elif how == "esto":
            fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o666)
            f = os.fdopen(fd, "r+b")
            f.seek(offset)
        elif offset:
            if not p.exists() or p.stat().st_size < offset:
                raise Reply(554, f"REST {offset} is beyond the end of {arg}")
            f = open(p, "r+b")
            f.seek(offset)
            f.truncate()
        else:
            f = open(p, "wb")
        with f:
            if self.mode_e:
                if self.passive is None:
                    raise Reply(425, "in MODE E the sending side connects: use PASV (or EPSV/SPAS) before STOR")
                secure = self.secure()
                self.send(150, "Opening BINARY mode data connection.")
                # Blocks carry offsets from where the file is positioned: 0, REST's offset, the end for APPE,
                # ESTO's offset. A full disk becomes 452 in run(), like any other command's OSError.
                base = f.tell()
                progress = _core.Progress()
                with self.abortable(self.allo, progress):
                    n = modee.receive(self.channels, self.passive, f, base=base, secure=secure, control=self.conn,
                                      progress=progress)
                f.flush()
                if self.server.sync:
                    os.fsync(f.fileno())
                # What GCT reports after every MODE E store: the range now on disk, and a performance marker.
                self.send(111, f"Range Marker {base}-{base + n}", hold=True)
                self.perf_marker(n, hold=True)
                raise Reply(226, "Transfer complete.")
            conn = self.data_connection()
            try:
                self.send(150, f"Opening {'ASCII' if self.type_ascii else 'BINARY'} mode data connection.")
                self._stream_conn = conn
                try:
                    with self.abortable(self.allo):
                        receive_file(conn, f, self.type_ascii)
                    f.flush()
                    if self.server.sync:
                        os.fsync(f.fileno())
                except OSError as exc:
                    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                        raise Reply(452, f"{arg}: no space left on the server's disk; the partial file was kept "
                                         "(REST can complete it)") from None
                    raise Reply(426, f"connection closed; transfer aborted, the partial file was kept "
                                     f"({exc.strerror or exc})") from None
            finally:
                self._stream_conn = None
                conn.close()
        raise Reply(226, "Transfer complete.")

    def cmd_STOR(self, arg: str) -> None:
        self._store(arg, "stor", self.rest)

    def cmd_APPE(self, arg: str) -> None:
        self._store(arg, "appe")

    def cmd_ESTO(self, arg: str) -> None:
        # GFD.020 extended store: ESTO A <offset> <path> (adjusted: data offsets shifted by <offset>)
        parts = arg.split(" ", 2)
        message = "ESTO: expected 'A <offset> <path>' (the only module is A, adjusted)"
        if len(parts) != 3 or parts[0].upper() != "A":
            raise Reply(501, message)
        self._store(parts[2], "esto", _number(parts[1], message))

    def cmd_ABOR(self, arg: str) -> None:
        if self.aborted:
            self.aborted = False
            raise Reply(226, "ABOR command successful; the transfer was aborted.")
        if self.passive is not None:
            self.passive.close()
            self.passive = None
        self.active = None
        raise Reply(226, "Abort successful.")

    # --- ABOR during a transfer -----------------------------------------------------------------------------
    @contextmanager
    def abortable(self, size: int | None, progress: _core.Progress | None = None):
        """Watch a running transfer: ABOR (or the client going away) stops it, and every marker interval a
        112 performance marker reports the bytes moved so far (progress, kept by the native data path).

        Transfers known to be small are not watched: they end before either could matter, and a thread per
        file costs the many-small-files case. A protected (GSI) session's commands cannot be read ahead
        without consuming them, so there ABOR waits for the transfer's end (markers still go out).
        """
        self.aborted = False
        if size is not None and size < WATCH_ABOR_FROM:
            yield
            return
        wake_r, wake_w = os.pipe()  # ends the watcher at once when the transfer is over
        interval = self.server.marker_interval
        listen_for_abor = self.protected is None

        def watch() -> None:
            watched = [self.conn, wake_r] if listen_for_abor else [wake_r]
            while True:
                readable = select.select(watched, [], [], interval)[0]
                if wake_r in readable:
                    return
                if not readable:
                    if progress is not None:
                        self.perf_marker(progress.bytes)
                    continue
                try:
                    head = self.conn.recv(64, socket.MSG_PEEK)
                except OSError:
                    head = b""
                # Telnet IP/Synch (0xff...) precede ABOR in RFC 959 clients; an empty read: the client is gone.
                if not head or head.startswith(b"\xff") or head.lstrip().upper().startswith(b"ABOR"):
                    self.aborted = True
                    self.channels.abort()
                    if self._stream_conn is not None:
                        try:
                            self._stream_conn.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                    return
                watched.remove(self.conn)  # any other command waits for the transfer's end

        t = threading.Thread(target=watch, name="gridftp-watch", daemon=True)
        t.start()
        try:
            yield
            if self.aborted:  # a stream upload reads a shut-down connection as a normal end of file
                raise DataError("aborted")
        except (DataError, OSError) as exc:
            if self.aborted:
                raise Reply(426, "transfer aborted by ABOR; a partial file is kept (REST or ESTO can complete "
                                 "it)") from None
            raise exc
        finally:
            os.write(wake_w, b"x")
            t.join()
            os.close(wake_r)
            os.close(wake_w)

    # --- GSI (RFC 2228 with GSI's GSS-API mechanism) -------------------------------------------------------
    def cmd_AUTH(self, arg: str) -> None:
        if arg.upper() != "GSSAPI":
            raise Reply(504, f"AUTH {arg[:20]}: unknown authentication type; this server speaks AUTH GSSAPI")
        if self.server.gsi is None:
            raise Reply(504, "AUTH GSSAPI: this server has no GSI credential (start it with --gsi)")
        if self.identity is not None or self.user is not None:
            raise Reply(503, "already authenticated")
        self.gss = gss.Acceptor(self.server.gsi.context, self.server.delegation_key)
        raise Reply(334, "Using authentication type; ADAT must follow.")

    def cmd_ADAT(self, arg: str) -> None:
        if self.gss is None:
            raise Reply(503, "send AUTH GSSAPI first")
        try:
            token = base64.b64decode(arg.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise Reply(501, "ADAT: the token is not base64") from None
        try:
            out = self.gss.step(token)
            if self.gss.complete:
                assert self.server.gsi is not None and self.server.gsi.cert_dir is not None
                who = verify_chain(self.gss.peer_chain, self.server.gsi.cert_dir).identity  # signing policy, CRL
        except GSIError as exc:
            self.gss = None
            raise Reply(535, f"Failed security check: {exc}") from None
        if not self.gss.complete:
            raise Reply(335, "ADAT=" + base64.b64encode(out).decode())
        context, self.gss = self.gss, None
        self.identity, self.delegated = who, context.delegated
        self.send(235, "GSSAPI Authentication successful." if not out else "ADAT=" + base64.b64encode(out).decode())
        self.protected = Protected(context)  # from the next reply on


class _Keep(Reply):
    """The reply was sent and the session state set by this command (REST, RNFR) must survive it."""

    def __init__(self) -> None:
        super().__init__(0, "")

