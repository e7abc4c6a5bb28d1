"""Verify a certificate chain as GSI does: OpenSSL's path validation with RFC 3820 proxies allowed (path
lengths, proxy subject rules, validity, signatures), then the checks GCT adds on top: a signing policy
beside every trusted CA, CRLs from the trust directory, and the identity of the chain."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from .ca import parse_signing_policy, policy_allows, subject_hash
from .errors import GSIError
from .names import dn_string
from .proxy import identity, is_proxy

# OpenSSL verify codes worth a sentence of their own.
_REASONS = {
    9: "is not valid yet", 10: "has expired", 7: "has a signature that does not verify (tampered?)",
    2: "was issued by a CA that is not in the trust directory", 20: "was issued by a CA that is not in the trust "
    "directory", 21: "was issued by a CA that is not in the trust directory", 18: "is self-signed and not trusted",
    19: "chains to a self-signed CA that is not in the trust directory", 38: "exceeds its proxy path length",
    40: "is a proxy, and proxies are not allowed here", 24: "is a CA certificate that may not sign this",
    26: "is not allowed for this purpose",
}


@dataclass
class Verified:
    """A chain that passed: the grid identity and the verified certificates (leaf first, CA last)."""

    identity: str
    chain: list[x509.Certificate]
    proxies: int
    expires: datetime.datetime


def _check_crl(cert: x509.Certificate, issuer: x509.Certificate, cert_dir: Path) -> None:
    crl_path = cert_dir / f"{subject_hash(issuer)}.r0"
    if not crl_path.exists():
        return
    try:
        crl = x509.load_pem_x509_crl(crl_path.read_bytes())
    except ValueError:
        try:
            crl = x509.load_der_x509_crl(crl_path.read_bytes())
        except ValueError:
            raise GSIError(f"CRL {crl_path} cannot be read") from None
    if not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
        raise GSIError(f"CRL {crl_path} is not signed by {dn_string(issuer.subject)}")
    if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
        raise GSIError(f"{dn_string(cert.subject)} (serial {cert.serial_number:x}) is revoked by {crl_path}")


def verify_chain(chain: list[x509.Certificate], cert_dir: str | os.PathLike[str]) -> Verified:
    """Verify chain (leaf first, issuers after; the trusted CA may be left out) against cert_dir."""
    from OpenSSL import crypto

    if not chain:
        raise GSIError("no certificate to verify")
    cert_dir = Path(cert_dir)
    if not cert_dir.is_dir():
        raise GSIError(f"trust directory {cert_dir} does not exist (set X509_CERT_DIR)")
    store = crypto.X509Store()
    store.load_locations(None, str(cert_dir))
    store.set_flags(crypto.X509StoreFlags.ALLOW_PROXY_CERTS)
    leaf, *rest = [crypto.X509.from_cryptography(c) for c in chain]
    ctx = crypto.X509StoreContext(store, leaf, chain=rest)
    try:
        verified = [c.to_cryptography() for c in ctx.get_verified_chain()]
    except crypto.X509StoreContextError as exc:
        code, depth, text = (exc.errors + [None, None, str(exc)])[:3] if isinstance(exc.errors, list) else \
            (None, None, str(exc))
        bad = exc.certificate.to_cryptography() if exc.certificate is not None else chain[0]
        reason = _REASONS.get(code, text)
        if "proxy subject name violation" in str(text):
            reason = "is a proxy whose subject does not extend its issuer's by one CN (RFC 3820 section 3.4)"
        raise GSIError(f"certificate {dn_string(bad.subject)} {reason} (OpenSSL: {text})") from None
    # GSI rules OpenSSL leaves to the application.
    for cert, issuer in zip(verified, verified[1:]):
        if is_proxy(cert):
            rdns = list(cert.subject.rdns)
            if rdns[:-1] != list(issuer.subject.rdns) or \
                    [a.oid for a in rdns[-1]] != [x509.oid.NameOID.COMMON_NAME]:
                raise GSIError(f"proxy {dn_string(cert.subject)} does not extend its issuer's subject "
                               f"{dn_string(issuer.subject)} by one CN (RFC 3820 section 3.4)")
        _check_crl(cert, issuer, cert_dir)
    # The signing policy of the CA that issued each non-proxy certificate.
    for cert, issuer in zip(verified, verified[1:]):
        if is_proxy(cert):
            continue
        policy_file = cert_dir / f"{subject_hash(issuer)}.signing_policy"
        if not policy_file.exists():
            raise GSIError(f"the CA {dn_string(issuer.subject)} has no signing policy ({policy_file}); GCT refuses "
                           "certificates from such a CA, and so does wrapgen")
        patterns = parse_signing_policy(policy_file).get(dn_string(issuer.subject))
        if patterns is None:
            raise GSIError(f"{policy_file} has no access_id_CA entry for {dn_string(issuer.subject)}")
        if not policy_allows(patterns, dn_string(cert.subject)):
            raise GSIError(f"{dn_string(cert.subject)} is outside what {dn_string(issuer.subject)} may sign "
                           f"({', '.join(patterns)}, in {policy_file})")
    return Verified(identity(verified), verified, sum(1 for c in verified if is_proxy(c)),
                    min(c.not_valid_after_utc for c in verified))
