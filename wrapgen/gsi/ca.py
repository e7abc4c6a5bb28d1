"""A certificate authority for a grid: `wrapgen ca init DIR --subject DN`, signing requests, revoking.

DIR/cacert.pem and DIR/cakey.pem (0600) are the CA; DIR/certificates/ is a trust directory in
X509_CERT_DIR layout that GCT tools and wrapgen accept: <hash>.0 (the CA certificate under OpenSSL's
subject hash), <hash>.signing_policy (which subjects the CA may sign) and, once something is revoked,
<hash>.r0 (the CRL).
"""

from __future__ import annotations

import datetime
import fnmatch
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from .errors import GSIError
from .files import check_private, write_private, write_public
from .names import dn_string, parse_dn
from .pem import cert_pem, key_pem, load_certs, load_key


def subject_hash(cert: x509.Certificate) -> str:
    """OpenSSL's subject name hash (the <hash>.0 file name), as `openssl x509 -hash` prints it."""
    from OpenSSL import crypto

    return f"{crypto.X509.from_cryptography(cert).subject_name_hash():08x}"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def signing_policy(ca_dn: str, namespaces: list[str]) -> str:
    """The EACL signing policy file GCT requires beside every trusted CA."""
    conds = " ".join(f'"{n}"' for n in namespaces)
    return (f"# EACL signing policy written by wrapgen\n"
            f"access_id_CA      X509         '{ca_dn}'\n"
            f"pos_rights        globus        CA:sign\n"
            f"cond_subjects     globus       '{conds}'\n")


def parse_signing_policy(path: Path) -> dict[str, list[str]]:
    """{CA DN: subject patterns} from a signing policy file; errors name the file and line."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise GSIError(f"cannot read signing policy {path}: {exc.strerror}") from None
    policies: dict[str, list[str]] = {}
    current = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"(\S+)\s+(\S+)\s+'(.*)'\s*$", line) or re.match(r"(\S+)\s+(\S+)\s*(.*)$", line)
        if not m:
            raise GSIError(f"{path}:{lineno}: cannot read {raw!r}")
        key, _kind, value = m.groups()
        if key == "access_id_CA":
            current = value.strip("'")
            policies.setdefault(current, [])
        elif key == "cond_subjects":
            if current is None:
                raise GSIError(f"{path}:{lineno}: cond_subjects before any access_id_CA")
            policies[current] += re.findall(r'"([^"]*)"', value)
    if not policies:
        raise GSIError(f"{path}: no access_id_CA entry")
    return policies


def policy_allows(patterns: list[str], dn: str) -> bool:
    """Whether a subject DN matches one of a signing policy's cond_subjects patterns ('*' wildcard)."""
    return any(fnmatch.fnmatchcase(dn, p) for p in patterns)


@dataclass
class CA:
    """A CA directory."""

    dir: Path
    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def trust_dir(self) -> Path:
        """The X509_CERT_DIR-style directory to give clients and servers."""
        return self.dir / "certificates"

    @property
    def hash(self) -> str:
        """OpenSSL subject hash of the CA certificate."""
        return subject_hash(self.cert)

    @property
    def namespaces(self) -> list[str]:
        """Subject patterns this CA signs (from its signing policy)."""
        return parse_signing_policy(self.trust_dir / f"{self.hash}.signing_policy").get(dn_string(self.cert.subject),
                                                                                        [])

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> CA:
        """Open a CA made by init_ca."""
        d = Path(directory)
        check_private(d / "cakey.pem", "CA private key")
        return cls(d, load_certs(d / "cacert.pem")[0], load_key(d / "cakey.pem"))  # type: ignore[arg-type]

    def sign(self, csr: x509.CertificateSigningRequest, days: float = 365, host: bool | None = None) \
            -> x509.Certificate:
        """Sign a request: a host certificate (subjectAltName kept, serverAuth+clientAuth) or a user one."""
        if not csr.is_signature_valid:
            raise GSIError("the certificate request's signature is invalid")
        subject = dn_string(csr.subject)
        if not policy_allows(self.namespaces, subject):
            raise GSIError(f"{subject} is outside this CA's namespace ({', '.join(self.namespaces)}); "
                           "GCT tools would refuse it by the signing policy")
        try:
            san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            san = None
        if host is None:
            host = san is not None
        now = _now()
        b = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(self.cert.subject)
             .public_key(csr.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(True, False, True, not host, False, False, False, False, False),
                            critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                            critical=False))
        if host:
            if san is None:
                raise GSIError(f"a host certificate needs a subjectAltName (request it with --dns/--ip): {subject}")
            b = b.add_extension(san, critical=False).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False)
        # A user certificate carries no extendedKeyUsage (as globus-simple-ca): with DCAU a delegated proxy
        # acts as a TLS server, and clientAuth alone would make OpenSSL refuse it.
        return b.sign(self.key, hashes.SHA256())

    def sign_file(self, request: str | os.PathLike[str], out: str | os.PathLike[str], days: float = 365) -> Path:
        """Sign a PEM request file into a PEM certificate file."""
        try:
            csr = x509.load_pem_x509_csr(Path(request).read_bytes())
        except (OSError, ValueError) as exc:
            raise GSIError(f"cannot read certificate request {request}: {exc}") from None
        return write_public(out, cert_pem(self.sign(csr, days)))

    def revoke(self, cert: x509.Certificate, days: float = 30) -> Path:
        """Add a certificate to the CA's CRL and publish it as <hash>.r0 in the trust directory."""
        crl_path = self.trust_dir / f"{self.hash}.r0"
        revoked = []
        if crl_path.exists():
            revoked = list(x509.load_pem_x509_crl(crl_path.read_bytes()))
        now = _now()
        revoked.append(x509.RevokedCertificateBuilder().serial_number(cert.serial_number).revocation_date(now)
                       .build())
        b = (x509.CertificateRevocationListBuilder().issuer_name(self.cert.subject).last_update(now)
             .next_update(now + datetime.timedelta(days=days)))
        for r in revoked:
            b = b.add_revoked_certificate(r)
        crl = b.sign(self.key, hashes.SHA256())
        return write_public(crl_path, crl.public_bytes(serialization.Encoding.PEM))


def init_ca(directory: str | os.PathLike[str], subject: str, days: float = 5 * 365,
            namespaces: list[str] | None = None, bits: int = 2048) -> CA:
    """Create a CA: key (0600), self-signed certificate, trust directory with its signing policy."""
    d = Path(directory)
    if (d / "cakey.pem").exists():
        raise GSIError(f"{d} already holds a CA (cakey.pem); refusing to overwrite it")
    name = parse_dn(subject)
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    write_private(d / "cakey.pem", key_pem(key))
    write_public(d / "cacert.pem", cert_pem(cert))
    ca = CA(d, cert, key)
    if namespaces is None:
        # The CA signs subjects under its own DN minus the final CN: /O=Grid/OU=Lab/CN=Lab CA -> /O=Grid/OU=Lab/*
        base = re.sub(r"/CN=[^/]*$", "", subject)
        namespaces = [f"{base}/*"]
    write_public(ca.trust_dir / f"{ca.hash}.0", cert_pem(cert))
    write_public(ca.trust_dir / f"{ca.hash}.signing_policy", signing_policy(subject, namespaces).encode())
    return ca


def make_request(subject: str, out_dir: str | os.PathLike[str], stem: str, dns: list[str] = (),
                 ips: list[str] = (), bits: int = 2048) -> tuple[Path, Path]:
    """A key (0600) and a certificate request; subjectAltName from dns/ips. Returns (key, request) paths."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    b = x509.CertificateSigningRequestBuilder().subject_name(parse_dn(subject))
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns]
    for ip in ips:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(ip)))
        except ValueError:
            raise GSIError(f"--ip {ip!r} is not an IP address") from None
    if names:
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
    csr = b.sign(key, hashes.SHA256())
    out = Path(out_dir)
    key_path = write_private(out / f"{stem}key.pem", key_pem(key))
    req_path = write_public(out / f"{stem}cert_request.pem", csr.public_bytes(serialization.Encoding.PEM))
    return key_path, req_path
