"""RFC 3820 proxy certificates: make them (grid-proxy-init), read them (grid-proxy-info), delegate.

A proxy file holds the proxy certificate, its unencrypted key, then the certificates that issued it up
to the user's own (end-entity) certificate; it is written 0600 where grid-proxy-init writes it.
"""

from __future__ import annotations

import datetime
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.x509.oid import NameOID

from .errors import GSIError
from .files import check_private, proxy_path, user_cert_and_key, write_private
from .names import dn_string
from .pem import cert_pem, key_pem, load_certs, load_key

PROXY_CERT_INFO = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14")
_INHERIT_ALL = bytes.fromhex("06082b06010505071501")  # id-ppl-inheritAll 1.3.6.1.5.5.7.21.1
_LIMITED = bytes.fromhex("060a2b060104019b5001010109")  # GCT limited proxy 1.3.6.1.4.1.3536.1.1.1.9


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    length = bytes([n]) if n < 128 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + body


def proxy_cert_info(path_length: int | None, limited: bool = False) -> bytes:
    """DER of ProxyCertInfo: SEQUENCE { pCPathLenConstraint INTEGER OPTIONAL, proxyPolicy SEQUENCE { OID } }."""
    body = b""
    if path_length is not None:
        if path_length < 0:
            raise GSIError("a proxy path length must be 0 or more")
        body += _der(0x02, path_length.to_bytes(max(1, (path_length.bit_length() + 8) // 8), "big"))
    body += _der(0x30, _LIMITED if limited else _INHERIT_ALL)
    return _der(0x30, body)


def _read_pci(der: bytes) -> tuple[int | None, bool]:
    """(path length, limited) from ProxyCertInfo DER."""
    def item(data: bytes, i: int) -> tuple[int, bytes, int]:
        tag, n = data[i], data[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(data[i:i + k], "big")
            i += k
        return tag, data[i:i + n], i + n

    try:
        _, seq, _ = item(der, 0)
        tag, value, nxt = item(seq, 0)
        path = None
        if tag == 0x02:
            path = int.from_bytes(value, "big")
            tag, value, nxt = item(seq, nxt)
        return path, value.startswith(_LIMITED)
    except IndexError:
        raise GSIError("a proxy certificate's ProxyCertInfo extension is malformed") from None


def proxy_info_of(cert: x509.Certificate) -> tuple[int | None, bool] | None:
    """(path length, limited) if cert is an RFC 3820 proxy, else None."""
    try:
        ext = cert.extensions.get_extension_for_oid(PROXY_CERT_INFO)
    except x509.ExtensionNotFound:
        return None
    return _read_pci(ext.value.value)  # type: ignore[attr-defined]


def is_proxy(cert: x509.Certificate) -> bool:
    """Whether cert carries an RFC 3820 ProxyCertInfo extension."""
    return proxy_info_of(cert) is not None


def identity(chain: list[x509.Certificate]) -> str:
    """The grid identity of a chain (leaf first): the subject of its first non-proxy certificate."""
    for cert in chain:
        if not is_proxy(cert):
            return dn_string(cert.subject)
    raise GSIError("the chain holds only proxy certificates: its end-entity certificate is missing")


@dataclass
class Credential:
    """A certificate with its key and the chain that issued it (leaf first)."""

    cert: x509.Certificate
    key: PrivateKeyTypes
    chain: list[x509.Certificate] = field(default_factory=list)  # issuers above cert, nearest first

    @property
    def full_chain(self) -> list[x509.Certificate]:
        """cert followed by its issuers."""
        return [self.cert, *self.chain]

    @property
    def identity(self) -> str:
        """The end-entity subject this credential acts as."""
        return identity(self.full_chain)

    def pem(self) -> bytes:
        """Proxy-file layout: certificate, key, issuers."""
        return cert_pem(self.cert) + key_pem(self.key, traditional=True) + cert_pem(*self.chain)


def load_credential(cert_path: str | os.PathLike[str] | None = None, key_path: str | os.PathLike[str] | None = None) \
        -> Credential:
    """A proxy file (cert, key and chain in one) or a certificate and key pair; defaults as GCT's."""
    if cert_path is None:
        p = proxy_path()
        if p.exists():
            cert_path = p
        else:
            cert_path, key_path = user_cert_and_key()
    certs = load_certs(cert_path)
    key_file = key_path or cert_path
    check_private(key_file, "proxy file" if key_path is None else "private key")
    key = load_key(key_file)
    if key.public_key().public_numbers() != certs[0].public_key().public_numbers():  # type: ignore[union-attr]
        raise GSIError(f"the key in {key_file} does not belong to the certificate in {cert_path}")
    return Credential(certs[0], key, certs[1:])


def sign_proxy(public_key: PublicKeyTypes, issuer: Credential, hours: float = 12.0, path_length: int | None = None,
               limited: bool = False) -> x509.Certificate:
    """A proxy certificate for public_key, signed by issuer (delegation signs a peer's request this way)."""
    pci = proxy_info_of(issuer.cert)
    if pci is not None and pci[0] is not None and pci[0] < 1:
        raise GSIError(f"{dn_string(issuer.cert.subject)} is a proxy with path length {pci[0]}: it may not sign "
                       "further proxies")
    now = datetime.datetime.now(datetime.timezone.utc)
    end = min(now + datetime.timedelta(hours=hours), issuer.cert.not_valid_after_utc)
    if end <= now:
        raise GSIError(f"{dn_string(issuer.cert.subject)} expired at {issuer.cert.not_valid_after_utc:%Y-%m-%d %H:%M} "
                       "UTC; it cannot sign a proxy")
    serial = secrets.randbits(62) | 1 << 61
    subject = x509.Name([*issuer.cert.subject.rdns, x509.RelativeDistinguishedName(
        [x509.NameAttribute(NameOID.COMMON_NAME, str(serial))])])
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.cert.subject)
            .public_key(public_key).serial_number(serial)
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(end)
            .add_extension(x509.KeyUsage(True, False, True, True, False, False, False, False, False), critical=True)
            .add_extension(x509.UnrecognizedExtension(PROXY_CERT_INFO, proxy_cert_info(path_length, limited)),
                           critical=True)
            .sign(issuer.key, hashes.SHA256()))  # type: ignore[arg-type]


def create_proxy(issuer: Credential, hours: float = 12.0, bits: int = 2048, path_length: int | None = None,
                 limited: bool = False) -> Credential:
    """A new RFC 3820 impersonation proxy (fresh RSA key) signed by issuer."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    cert = sign_proxy(key.public_key(), issuer, hours, path_length, limited)
    return Credential(cert, key, issuer.full_chain)


def delegate(request: x509.CertificateSigningRequest, issuer: Credential, hours: float = 12.0) -> x509.Certificate:
    """Sign a proxy for a peer's certificate request (its key never leaves the peer)."""
    if not request.is_signature_valid:
        raise GSIError("the delegation request's signature is invalid")
    return sign_proxy(request.public_key(), issuer, hours)


def write_proxy(cred: Credential, path: str | os.PathLike[str] | None = None) -> Path:
    """Write a proxy file (0600) at path, $X509_USER_PROXY or /tmp/x509up_u<uid>."""
    return write_private(path or proxy_path(), cred.pem())


def describe(cred: Credential, path: str | os.PathLike[str] | None = None) -> dict[str, object]:
    """What grid-proxy-info prints: subject, issuer, identity, type, strength, path, timeleft (seconds)."""
    pci = proxy_info_of(cred.cert)
    if pci is None:
        kind = "end entity credential"
    else:
        kind = "RFC 3820 compliant " + ("limited" if pci[1] else "impersonation") + " proxy"
    left = (cred.cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    return {"subject": dn_string(cred.cert.subject), "issuer": dn_string(cred.cert.issuer),
            "identity": cred.identity, "type": kind, "strength": getattr(cred.key, "key_size", 0),
            "path": str(path) if path else "", "path length": pci[0] if pci else None,
            "timeleft": max(0, int(left))}


def destroy_proxy(path: str | os.PathLike[str] | None = None) -> Path:
    """Overwrite and remove a proxy file."""
    p = Path(path or proxy_path())
    if not p.exists():
        raise GSIError(f"no proxy file at {p}")
    size = p.stat().st_size
    with open(p, "r+b") as f:
        f.write(b"\0" * size)
        f.flush()
        os.fsync(f.fileno())
    p.unlink()
    return p
