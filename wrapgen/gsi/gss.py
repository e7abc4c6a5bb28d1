"""GSI's GSS-API mechanism as the Grid Community Toolkit speaks it: a TLS handshake whose records travel as
opaque tokens (RFC 2228 ADAT on a control channel, the raw socket on a data channel), then one flag byte
('D' asks for delegation, '0' does not) and, on 'D', a DER certificate request answered by the DER proxy
certificate the initiator signs. Under TLS 1.3 the acceptor sends one protected zero byte after the
handshake so that the exchange stays a strict token ping-pong (the initiator finishes first there).

    init = Initiator(client_ctx, "host.example.org", delegate=cred)   acc = Acceptor(server_ctx)
    token = init.step(None)                        ...                reply = acc.step(token)

After both are complete, wrap()/unwrap() protect messages (ENC/MIC commands and 632 replies).
"""

from __future__ import annotations

import socket
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import GSIError
from .proxy import Credential, delegate
from .tls import peer_chain

MAX_TOKEN = 1 << 20


class _Context:
    """One TLS connection driven through memory buffers."""

    def __init__(self, ctx: ssl.SSLContext, server_side: bool, server_hostname: str | None = None,
                 ssl_compatible: bool = False) -> None:
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self._in, self._out, server_side=server_side, server_hostname=server_hostname)
        self.complete = False
        self._state = "handshake"
        # GSS_C_GLOBUS_SSL_COMPATIBLE: the plain TLS handshake and nothing after it (no zero byte, no flag,
        # no delegation), as GCT authenticates private (PROT P) data channels
        self.ssl_compatible = ssl_compatible

    def _handshake(self, token: bytes | None) -> bool:
        """Feed a token to the handshake; True once it is done."""
        if token:
            self._in.write(token)
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            return False
        except ssl.SSLCertVerificationError as exc:
            raise GSIError(f"GSI authentication failed: the peer's certificate chain was refused: "
                           f"{exc.verify_message} (OpenSSL verify code {exc.verify_code})") from None
        except ssl.SSLError as exc:
            raise GSIError(f"GSI authentication failed: {exc.reason or exc}") from None
        return True

    def _handshake_step(self, token: bytes | None) -> tuple[bool, bytes]:
        """Feed a handshake token: (whether the handshake is over, the bytes to send). In SSL-compatible mode
        the end of the handshake is the end of the exchange."""
        if not self._handshake(token):
            return False, self._out.read()
        self._state = "flags"
        if self.ssl_compatible:
            self._state, self.complete = "done", True
        return True, self._out.read()

    def _read_all(self) -> bytes:
        out = bytearray()
        while True:
            try:
                chunk = self.tls.read(65536)
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                break
            except ssl.SSLError as exc:
                raise GSIError(f"a protected message could not be read: {exc.reason or exc}") from None
            if not chunk:
                break
            out += chunk
        return bytes(out)

    def wrap(self, data: bytes) -> bytes:
        """Protect a message: the TLS records that carry it."""
        self.tls.write(data)
        return self._out.read()

    def unwrap(self, token: bytes) -> bytes:
        """The message inside TLS records made by the peer's wrap()."""
        self._in.write(token)
        return self._read_all()

    @property
    def peer_chain(self) -> list[x509.Certificate]:
        """The peer's verified chain, leaf first."""
        return peer_chain(self.tls)

    @property
    def unverified_peer_chain(self) -> list[x509.Certificate]:
        """The chain the peer sent, leaf first, as sent (for verification by the caller)."""
        return peer_chain(self.tls, verified=False)

    @property
    def version(self) -> str:
        """The TLS version negotiated."""
        return self.tls.version() or ""


class Initiator(_Context):
    """The client side (gss_init_sec_context): step() until complete; delegates when given a credential."""

    def __init__(self, ctx: ssl.SSLContext, server_hostname: str | None = None,
                 delegate: Credential | None = None, hours: float = 12.0, ssl_compatible: bool = False) -> None:
        super().__init__(ctx, False, server_hostname, ssl_compatible)
        self.delegating = delegate
        self.hours = hours

    def step(self, token: bytes | None) -> bytes:
        """Consume the acceptor's token (None to start); returns the token to send (b'' for none)."""
        if self._state == "handshake":
            finished, pending = self._handshake_step(token)
            # TLS 1.3: our Finished still has to go, and the acceptor answers with a zero byte
            if not finished or self.complete or pending:
                return pending
            token = None
        if self._state == "flags":
            if token:
                self.unwrap(token)  # the acceptor's keep-in-step zero byte
            if self.delegating is not None:
                self._state = "request"
                return self.wrap(b"D")
            self._state, self.complete = "done", True
            return self.wrap(b"0")
        if self._state == "request":
            der = self.unwrap(token or b"")
            try:
                request = x509.load_der_x509_csr(der)
            except ValueError:
                raise GSIError(f"the server's delegation request ({len(der)} bytes) is not a DER "
                               "certificate request") from None
            assert self.delegating is not None
            cert = delegate(request, self.delegating, self.hours)
            self._state, self.complete = "done", True
            # Only the certificate: GCT reads anything after it as the next command.
            return self.wrap(cert.public_bytes(serialization.Encoding.DER))
        raise GSIError("the GSI context is already established")


class Acceptor(_Context):
    """The server side (gss_accept_sec_context); `delegated` holds the credential the initiator delegated."""

    def __init__(self, ctx: ssl.SSLContext, key_source=None, ssl_compatible: bool = False) -> None:
        super().__init__(ctx, True, ssl_compatible=ssl_compatible)
        self._key = None
        self._key_source = key_source or (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
        self.delegated: Credential | None = None

    def step(self, token: bytes) -> bytes:
        """Consume the initiator's token; returns the token to send back (b'' for none)."""
        if self._state == "handshake":
            finished, out = self._handshake_step(token)
            if not finished or self.complete:
                return out
            return out or self.wrap(b"\0")  # TLS 1.3: nothing left to send, keep the ping-pong going
        if self._state == "flags":
            flag = self.unwrap(token)
            if not flag:
                return b""  # a token without application data (a TLS 1.3 ticket or an empty fragment)
            if flag[:1] == b"D":
                self._key = self._key_source()
                request = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
                           .sign(self._key, hashes.SHA256()))
                self._state = "certificate"
                return self.wrap(request.public_bytes(serialization.Encoding.DER))
            if flag[:1] != b"0":
                raise GSIError(f"GSI: expected the delegation flag 'D' or '0', got {flag[:8]!r}")
            self._state, self.complete = "done", True
            return b""
        if self._state == "certificate":
            der = self.unwrap(token)
            try:
                cert = x509.load_der_x509_certificate(der)
            except ValueError:
                raise GSIError(f"the delegated certificate ({len(der)} bytes) is not DER X.509") from None
            assert self._key is not None
            if cert.public_key().public_numbers() != self._key.public_key().public_numbers():  # type: ignore[union-attr]
                raise GSIError("the delegated certificate is not for the key this server asked to have signed")
            self.delegated = Credential(cert, self._key, self.peer_chain)
            self._state, self.complete = "done", True
            return b""
        raise GSIError("the GSI context is already established")


# --- data channels: the same exchange on a socket, one TLS record at a time --------------------------------
def read_record(sock: socket.socket) -> bytes:
    """One TLS record from a socket (5-byte header and body), so no byte after it is consumed."""
    head = _read_exact(sock, 5)
    if not (20 <= head[0] <= 26 and head[1] == 3):
        raise GSIError(f"data channel authentication: expected a TLS record, got {head!r}")
    n = int.from_bytes(head[3:5], "big")
    if n > 18432:
        raise GSIError(f"data channel authentication: TLS record of {n} bytes is too long")
    return head + _read_exact(sock, n)


def _read_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise GSIError("data channel authentication: the peer closed the connection")
        buf += chunk
    return bytes(buf)


def authenticate_socket(sock: socket.socket, context: Initiator | Acceptor, timeout: float = 30.0) -> None:
    """Run a GSS exchange on a connected socket (DCAU A); afterwards PROT C data flows in clear on it."""
    old = sock.gettimeout()
    sock.settimeout(timeout)
    try:
        if isinstance(context, Initiator):
            sock.sendall(context.step(None))
        # Record by record: a flight spans several records, and the bytes after the last one are data.
        while not context.complete:
            out = context.step(read_record(sock))
            if out:
                sock.sendall(out)
    except (OSError, socket.timeout) as exc:
        raise GSIError(f"data channel authentication failed: {exc}") from None
    finally:
        sock.settimeout(old)

