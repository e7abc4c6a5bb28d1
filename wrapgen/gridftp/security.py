"""GSI on GridFTP (RFC 2228 as the Grid Community Toolkit uses it): what a server needs to accept
`AUTH GSSAPI` logins, the protected control channel (ENC/MIC commands, 632/631 replies), and data channel
authentication (DCAU A: a GSS exchange on every data connection, the connecting side initiating, each end
presenting the user's credential and expecting the other to be the same grid identity)."""

from __future__ import annotations

import base64
import binascii
import os
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..gsi import files, gss
from ..gsi.errors import GSIError
from ..gsi.authz import GridmapAuthorizer
from ..gsi.proxy import Credential, identity
from ..gsi.tls import client_context, server_context
from ..gsi.verify import verify_chain
from .datachan import DataError, PeerMismatch
from .errors import GridFTPError


@dataclass
class GSIConfig:
    """A server's GSI setup: host credential, trust directory and grid-mapfile (GCT's defaults if not given)."""

    cert: Path | None = None
    key: Path | None = None
    cert_dir: Path | None = None
    gridmap: Path | None = None
    _context: ssl.SSLContext | None = field(default=None, repr=False)
    _authorizer: GridmapAuthorizer | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        default_cert, default_key = files.host_cert_and_key()
        self.cert = Path(self.cert or default_cert)
        self.key = Path(self.key or default_key)
        self.cert_dir = Path(self.cert_dir or files.cert_dir())
        self.gridmap = Path(self.gridmap or files.gridmap_path())
        for what, p in (("host certificate", self.cert), ("host key", self.key), ("grid-mapfile", self.gridmap)):
            if not p.is_file():
                raise GridFTPError(f"GSI: {what} {p} does not exist")
        if not self.cert_dir.is_dir():
            raise GridFTPError(f"GSI: trust directory {self.cert_dir} does not exist (set X509_CERT_DIR)")
        try:
            self._context = server_context(self.cert, self.key, self.cert_dir)
        except (GSIError, ssl.SSLError, OSError) as exc:
            raise GridFTPError(f"GSI: cannot use host credential {self.cert}: {exc}") from None

    @property
    def context(self) -> ssl.SSLContext:
        """The TLS server context for control channels."""
        assert self._context is not None
        return self._context

    def accounts(self) -> GridmapAuthorizer:
        """Who may log in as whom (the grid-mapfile, read again when it changes)."""
        assert self.gridmap is not None
        with self._lock:
            if self._authorizer is None:
                self._authorizer = GridmapAuthorizer(self.gridmap)
            return self._authorizer


class Protected:
    """The control channel after AUTH GSSAPI: commands arrive as ENC/MIC tokens, replies leave as 632/631."""

    def __init__(self, context: gss.Initiator | gss.Acceptor) -> None:
        self.context = context

    def _open(self, token: str, what: str, errors: str = "surrogateescape") -> str:
        """The line inside a base64 token (a command after ENC/MIC, or a reply after 631/632/633)."""
        try:
            plain = self.context.unwrap(base64.b64decode(token.strip(), validate=True))
        except (binascii.Error, ValueError, GSIError) as exc:
            raise GridFTPError(f"{what} cannot be read ({exc})") from None
        return plain.decode("utf-8", errors).rstrip("\r\n")

    def unwrap_command(self, line: str) -> tuple[str, str]:
        """('ENC'|'MIC'|'CONF', the protected command line) from a wrapped command; GridFTPError if unreadable."""
        verb, _, token = line.partition(" ")
        return verb.upper(), self._open(token, f"{verb.upper()}: the token")

    def wrap_reply(self, text: bytes, verb: str = "ENC") -> bytes:
        """A reply (CRLF-terminated lines) with each line wrapped on its own, as GCT does."""
        code = {"ENC": "632", "MIC": "631", "CONF": "633"}.get(verb, "632")
        lines = text.split(b"\r\n")[:-1]
        out = []
        for i, ln in enumerate(lines):
            token = base64.b64encode(self.context.wrap(ln + b"\r\n")).decode()
            out.append(f"{code}{' ' if i == len(lines) - 1 else '-'}{token}\r\n")
        return "".join(out).encode()

    def wrap_command(self, line: str) -> bytes:
        """A command line as ENC."""
        return b"ENC " + base64.b64encode(self.context.wrap(line.encode("utf-8", "surrogateescape") + b"\r\n")) + b"\r\n"

    def unwrap_reply_line(self, line: str) -> str:
        """The plain reply line inside a 631/632/633 line."""
        return self._open(line[4:], "a protected reply", errors="replace")


class DataAuth:
    """DCAU A for one session: contexts made from the user's credential; every peer must be that user."""

    def __init__(self, credential: Credential, cert_dir: str | os.PathLike[str], expect: str | None = None) -> None:
        self.expect = expect or credential.identity
        self.cert_dir = cert_dir
        # ssl loads certificates from files only: a private file that lives just long enough to be read.
        with tempfile.TemporaryDirectory(prefix="wrapgen-dcau-") as d:
            path = Path(d) / "cred.pem"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(credential.pem())
            self._server = server_context(path, path, cert_dir)
            self._client = client_context(path, cert_dir)
        # As TLS client, OpenSSL would check the peer for the TLS-server purpose, which a user's proxy need not
        # have (a clientAuth-only user certificate, accepted by GCT): the chain is verified after the
        # handshake instead, without a purpose (verify_chain), before any data is trusted.
        self._client.verify_mode = ssl.CERT_NONE

    def secure(self, sock: socket.socket, initiator: bool, private: bool = False) -> socket.socket | None:
        """Authenticate a fresh data connection; DataError (425) if it fails or the peer is someone else.
        private (PROT P): returns the plain end of a relay that encrypts with the connection's TLS session."""
        # GCT authenticates private channels in GSI's "SSL compatible" mode (no flag byte after the handshake)
        ctx = gss.Initiator(self._client, ssl_compatible=private) if initiator else \
            gss.Acceptor(self._server, ssl_compatible=private)
        try:
            gss.authenticate_socket(sock, ctx)
            who = identity(ctx.peer_chain) if not initiator else \
                verify_chain(ctx.unverified_peer_chain, self.cert_dir).identity
        except GSIError as exc:
            raise DataError(f"data channel authentication (DCAU A) failed: {exc}") from None
        if who != self.expect:
            raise PeerMismatch(f"data channel authentication (DCAU A): the peer is {who}, expected {self.expect}")
        return PrivateRelay(sock, ctx).start() if private else None


class KeyPool:
    """RSA keys for delegation made ahead in a background thread: key generation (~50-200 ms) would
    otherwise sit inside every GSI login that delegates."""

    def __init__(self, size: int = 4, bits: int = 2048) -> None:
        import queue

        self.bits = bits
        self._keys: queue.Queue = queue.Queue(size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, name="gridftp-keys", daemon=True)
        self._thread.start()

    def _make(self):
        from cryptography.hazmat.primitives.asymmetric import rsa

        return rsa.generate_private_key(public_exponent=65537, key_size=self.bits)

    def _fill(self) -> None:
        import queue

        while not self._stop.is_set():
            key = self._make()
            while not self._stop.is_set():
                try:
                    self._keys.put(key, timeout=0.5)
                    break
                except queue.Full:
                    continue

    def get(self):
        """A key never handed out before."""
        import queue

        try:
            return self._keys.get_nowait()
        except queue.Empty:
            return self._make()

    def close(self) -> None:
        """Stop making keys."""
        self._stop.set()


class PrivateRelay:
    """PROT P for one data connection: the data path (native MODE E or stream code) reads and writes plain bytes
    on one end of a socket pair; this thread carries them through the connection's TLS session (the records
    GCT's GSI driver sends and expects) to the real socket and back."""

    def __init__(self, sock: socket.socket, context: gss.Initiator | gss.Acceptor) -> None:
        self.sock, self.context = sock, context
        self.inner, self.outer = socket.socketpair()

    def start(self) -> socket.socket:
        """Run the relay; returns the plain end for the caller."""
        threading.Thread(target=self._run, name="gridftp-prot-p", daemon=True).start()
        return self.inner

    def _run(self) -> None:
        import select

        sources = [self.sock, self.outer]
        try:
            while sources:
                for src in select.select(sources, [], [])[0]:
                    try:
                        data = src.recv(1 << 16)
                    except OSError:
                        data = b""
                    if src is self.outer:  # plain bytes from the data path: encrypt and send
                        if not data:
                            self.sock.shutdown(socket.SHUT_WR)
                            sources.remove(src)
                            continue
                        self.sock.sendall(self.context.wrap(data))
                    else:  # TLS records from the peer: decrypt for the data path
                        if not data:
                            self.outer.shutdown(socket.SHUT_WR)
                            sources.remove(src)
                            continue
                        plain = self.context.unwrap(data)
                        if plain:
                            self.outer.sendall(plain)
        except (OSError, GSIError):
            pass
        finally:
            for s in (self.sock, self.outer):
                try:
                    s.close()
                except OSError:
                    pass
