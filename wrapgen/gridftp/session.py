"""One control connection: the RFC 959 / 2389 / 3659 / 2428 command set with GridFTP's (GFD.020) where it
applies to stream mode. Every error is a reply; nothing a client sends ends the server."""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..gsi import gss
from ..gsi.errors import GSIError
from ..gsi.proxy import Credential
from ..gsi.verify import verify_chain
from .commands import COMMANDS, help_text
from .datachan import DataError, Passive, connect
from .errors import GridFTPError
from .files import CKSM_ALGORITHMS, FileCommands
from .jail import Jail, PathRefused
from .listing import MLST_FACTS
from .modee import MAX_PARALLEL, Channels
from .replies import Keep, Reply, number, os_reply
from .security import DataAuth, Protected
from .transfers import TransferCommands

if TYPE_CHECKING:
    from .policy import SessionPolicy

log = logging.getLogger("wrapgen.gridftp")

MAX_LINE = 4096
MAX_TOKEN_LINE = 64 * 1024  # ADAT/ENC lines: a base64 TLS flight with a proxy chain is often over 4 KiB


class Session(FileCommands, TransferCommands):
    """The state of one client: login, directory, transfer parameters. The command handlers live in the
    mixins (files.py, transfers.py); this class holds the connection, the command loop, login and GSI."""

    def __init__(self, policy: SessionPolicy, conn: socket.socket, addr: tuple) -> None:
        self.policy, self.conn, self.addr = policy, conn, addr
        self.client_ip = addr[0]
        self.local_ip = conn.getsockname()[0]
        self.rfile = conn.makefile("rb")
        self.user: str | None = None
        self.pending_user: str | None = None
        self.jail: Jail | None = None
        self.cwd = "/"
        self.type_ascii = False
        self.rest = 0
        self.rename_from: str | None = None
        self.written: set[str] = set()  # virtual paths this session created (see FileCommands.may_change)
        self.started = self.last_command = time.monotonic()  # for the login and idle timeouts (Server)
        self.busy = False  # a command is running: the idle timeout does not apply
        self._send_lock = threading.Lock()  # the server's timeout sweeper may send a 421
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
        with self._send_lock:
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
            self.last_command = time.monotonic()
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
                elif not (verb in COMMANDS and COMMANDS[verb].clear):
                    self.send(533, f"{verb[:20]}: after AUTH GSSAPI every command must be protected (ENC or MIC)")
                    continue
            elif self.policy.gsi_only and not (verb in COMMANDS and COMMANDS[verb].preauth):
                self.send(530, "Must perform GSSAPI authentication.")
                continue
            command = COMMANDS.get(verb)
            handler: Callable[[str], None] | None = getattr(self, f"cmd_{verb}", None) if command else None
            keep = False
            self.busy = True
            try:
                if handler is None or not verb.isalpha():
                    raise Reply(500, f"'{verb[:40]}': command not understood")
                if self.user is None and command is not None and command.login:
                    raise Reply(530, "Please login with USER and PASS.")
                handler(arg)
                if verb == "QUIT":
                    return
            except Keep:
                keep = True  # REST and RNFR replied themselves; their state is for the next command
            except Reply as r:
                self.send(r.code, r.text)
            except PathRefused as exc:
                self.send(550, str(exc))
            except DataError as exc:
                self.send(425, str(exc))
            except (BrokenPipeError, ConnectionResetError):
                return  # the client is gone: nothing to answer, nothing worth a traceback
            except OSError as exc:
                r = os_reply(exc, arg or verb)
                self.send(r.code, r.text)
            except Exception:  # a bug must fail the command, not the server
                log.exception("command %s failed", verb)
                self.send(451, "internal server error; the command was not carried out")
            self.busy = False
            self.last_command = time.monotonic()
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

    def timed_out(self, why: str) -> None:
        """End the session from the server's sweeper thread, telling the client why (GCT's 421)."""
        try:
            self.send(421, f"{why}: closing control connection.")
        except (OSError, GridFTPError):
            pass
        self.shutdown()

    def client_gone(self) -> bool:
        """Whether the client closed the control connection (checked during long commands)."""
        try:
            return self.conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True

    def close(self) -> None:
        """Drop the connections (from the session's own thread)."""
        if self.jail is not None:
            self.jail.close()
        self.channels.drop()
        if self.passive is not None:
            self.passive.close()
        for closer in (self.rfile.close, self.conn.close):
            try:
                closer()
            except OSError:
                pass

    # --- helpers --------------------------------------------------------------------------------------
    def data_connection(self) -> socket.socket:
        """The data connection prepared by PASV/EPSV or PORT/EPRT."""
        secure = self.secure()
        if self.passive is not None:
            passive, self.passive = self.passive, None
            try:
                conn, we_connected = passive.connection(min(self.policy.data_timeout, 60.0)), False
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
        # A stream transfer whose data connection is silent (or not read) for this long ends with 426.
        conn.settimeout(self.policy.data_timeout)
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
            assert self.policy.gsi is not None and self.policy.gsi.cert_dir is not None
            self._data_auth = DataAuth(self.delegated, self.policy.gsi.cert_dir, expect=self.identity)
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
        if arg in ("anonymous", "ftp") and self.policy.anonymous:
            raise Reply(331, "Guest login ok, send your e-mail address as password.")
        raise Reply(331, f"Password required for {arg}.")

    def cmd_PASS(self, arg: str) -> None:
        if self.pending_user is None:
            raise Reply(503, "send USER first")
        user, self.pending_user = self.pending_user, None
        home = "/"
        if self.identity is not None:
            assert self.policy.gsi is not None
            try:
                name = self.policy.gsi.accounts().authorize(self.identity, None if user == ":globus-mapping:" else user)
            except GSIError as exc:
                log.info("refused %s: %s", self.identity, exc)  # the file's path goes to the log only
                raise Reply(530, f"Login incorrect. {getattr(exc, 'public', exc)}") from None
            account = self.policy.passwords.account(name) if self.policy.passwords else None
            home = account.home if account else "/"
        elif user in ("anonymous", "ftp") and self.policy.anonymous:
            name = "anonymous"
        else:
            account = self.policy.passwords.login(user, arg) if self.policy.passwords else None
            if account is None:
                self.failed_logins += 1
                time.sleep(min(2.0, 0.2 * self.failed_logins))  # slow down guessing
                raise Reply(530, "Login incorrect.")
            name, home = account.user, account.home
        root = self.policy.root / home.lstrip("/")
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
                    self.parallel = number(value.split(",")[0], f"Parallelism={value[:20]}: expected 1 to "
                                            f"{MAX_PARALLEL}", 1, MAX_PARALLEL)
            raise Reply(200, "OPTS Command Successful.")
        raise Reply(501, f"OPTS {what[:20]}: option not supported")

    def cmd_HELP(self, arg: str) -> None:
        code, text = help_text(arg.strip())
        self.send(code, text)

    def cmd_STAT(self, arg: str) -> None:
        if not arg:
            self.send(211, f"wrapgen GridFTP server status:\nLogged in as {self.user}\nTYPE: "
                           f"{'ASCII' if self.type_ascii else 'BINARY'}; MODE: Stream; STRUcture: File\nEnd of status.")
            return
        lines = self.listing_lines(arg, "STAT")
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
            self.site_chmod(rest)
        else:
            raise Reply(500, f"SITE {sub[:20]}: command not understood")

    # --- GSI (RFC 2228 with GSI's GSS-API mechanism) -------------------------------------------------------
    def cmd_AUTH(self, arg: str) -> None:
        if arg.upper() != "GSSAPI":
            raise Reply(504, f"AUTH {arg[:20]}: unknown authentication type; this server speaks AUTH GSSAPI")
        if self.policy.gsi is None:
            raise Reply(504, "AUTH GSSAPI: this server has no GSI credential (start it with --gsi)")
        if self.identity is not None or self.user is not None:
            raise Reply(503, "already authenticated")
        self.gss = gss.Acceptor(self.policy.gsi.context, self.policy.delegation_key)
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
                assert self.policy.gsi is not None and self.policy.gsi.cert_dir is not None
                who = verify_chain(self.gss.peer_chain, self.policy.gsi.cert_dir).identity  # signing policy, CRL
        except GSIError as exc:
            self.gss = None
            raise Reply(535, f"Failed security check: {exc}") from None
        if not self.gss.complete:
            raise Reply(335, "ADAT=" + base64.b64encode(out).decode())
        context, self.gss = self.gss, None
        self.identity, self.delegated = who, context.delegated
        self.send(235, "GSSAPI Authentication successful." if not out else "ADAT=" + base64.b64encode(out).decode())
        self.protected = Protected(context)  # from the next reply on
