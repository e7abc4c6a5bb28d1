"""TLS contexts that speak GSI: proxies accepted on both sides, chains verified against a trust directory,
the peer's grid identity, and GSI host-name checks (subjectAltName, or a legacy CN=host/NAME)."""

from __future__ import annotations

import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509

from .errors import GSIError
from .files import check_private
from .names import dn_string
from .verify import Verified, verify_chain


def trust_grid_chains(ctx: ssl.SSLContext, ca: str | os.PathLike[str]) -> None:
    """Make ctx verify peers against ca (an X509_CERT_DIR-style directory, or a CA file), accept RFC 3820
    proxies (grid users present short-lived proxies signed by their own certificate), and TLS 1.2 or later."""
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if os.path.isdir(ca):
        ctx.load_verify_locations(capath=str(ca))
    else:
        ctx.load_verify_locations(cafile=str(ca))
    ctx.verify_flags |= ssl.VERIFY_ALLOW_PROXY_CERTS
    # Python 3.13's default contexts verify with X509_STRICT, which refuses certificates without an Authority Key
    # Identifier: RFC 3820 proxies (grid-proxy-init's among them) usually have none. The chain is still verified
    # to a trusted CA, proxy rules included, and GCT's checks (signing policy, CRLs) run after the handshake.
    ctx.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)


def _base(purpose: ssl.Purpose, cert_dir: str | os.PathLike[str]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if purpose is ssl.Purpose.CLIENT_AUTH else ssl.PROTOCOL_TLS_CLIENT)
    d = Path(cert_dir)
    if not d.is_dir():
        raise GSIError(f"trust directory {d} does not exist (set X509_CERT_DIR)")
    trust_grid_chains(ctx, d)
    return ctx


def server_context(cert: str | os.PathLike[str], key: str | os.PathLike[str], cert_dir: str | os.PathLike[str],
                   require_client: bool = True) -> ssl.SSLContext:
    """A server context: host certificate, client certificates (proxies too) verified against cert_dir."""
    check_private(key, "host key")
    ctx = _base(ssl.Purpose.CLIENT_AUTH, cert_dir)
    ctx.load_cert_chain(str(cert), str(key))
    ctx.verify_mode = ssl.CERT_REQUIRED if require_client else ssl.CERT_OPTIONAL
    ctx.num_tickets = 0  # no resumption; tickets would also break GSI's token ping-pong under TLS 1.3
    return ctx


def client_context(credential: str | os.PathLike[str], cert_dir: str | os.PathLike[str],
                   key: str | os.PathLike[str] | None = None) -> ssl.SSLContext:
    """A client context presenting a proxy file (or certificate and key); the server's host name is checked
    by check_host after the handshake (GSI also accepts the legacy CN=host/NAME form)."""
    check_private(key or credential, "private key" if key else "proxy file")
    ctx = _base(ssl.Purpose.SERVER_AUTH, cert_dir)
    ctx.check_hostname = False  # replaced by check_host, which knows GSI's host name forms
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(str(credential), str(key) if key else None)
    return ctx


def peer_chain(sock: ssl.SSLSocket | ssl.SSLObject, verified: bool = True) -> list[x509.Certificate]:
    """The peer's chain, leaf first: the one OpenSSL verified (so proxies are in it), or with verified=False
    the one the peer sent, for a caller that verifies it itself."""
    obj = getattr(sock, "_sslobj", sock)
    name = "get_verified_chain" if verified else "get_unverified_chain"
    getter = getattr(sock, name, None) or getattr(obj, name, None)
    if getter is None:  # pragma: no cover - Python without the (3.10+) private accessor
        der = sock.getpeercert(binary_form=True)
        return [x509.load_der_x509_certificate(der)] if der else []
    import _ssl  # the Certificate objects' encoding constant is only exported there before 3.13

    # 3.13's public SSLSocket/SSLObject.get_verified_chain() gives DER bytes; the private accessor before it
    # gives _ssl.Certificate objects.
    return [x509.load_der_x509_certificate(c if isinstance(c, bytes) else c.public_bytes(_ssl.ENCODING_DER))
            for c in getter() or []]


def peer_identity(sock: ssl.SSLSocket | ssl.SSLObject, cert_dir: str | os.PathLike[str]) -> Verified:
    """The peer's grid identity, with GCT's checks (signing policy, CRL) on top of the handshake's."""
    chain = peer_chain(sock)
    if not chain:
        raise GSIError("the peer presented no certificate")
    return verify_chain(chain, cert_dir)


def check_host(cert: x509.Certificate, host: str) -> None:
    """GSI's host check: a subjectAltName DNS/IP entry, else a CN of the form host/NAME or NAME."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    if san is not None:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if ip is not None and ip in san.get_values_for_type(x509.IPAddress):
            return
        for name in san.get_values_for_type(x509.DNSName):
            if name.lower() == host.lower() or (name.startswith("*.") and host.lower().endswith(name[1:].lower())
                                                and host.count(".") == name.count(".")):
                return
        raise GSIError(f"the server certificate {dn_string(cert.subject)} is not for {host!r} "
                       f"(subjectAltName: {', '.join(map(str, san))})")
    cns = [a.value for a in cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)]
    if cns and str(cns[-1]).removeprefix("host/").lower() == host.lower():
        return
    raise GSIError(f"the server certificate {dn_string(cert.subject)} is not for {host!r} (no subjectAltName, "
                   f"and its CN is not host/{host})")
