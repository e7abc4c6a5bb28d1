"""A throw-away GSI world made with wrapgen.gsi in a temporary directory (never /etc/grid-security)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from wrapgen.gsi.ca import CA, init_ca, make_request
from wrapgen.gsi.names import parse_dn
from wrapgen.gsi.proxy import Credential, load_credential

BASE = "/O=Grid/OU=wrapgen test"


@dataclass
class World:
    dir: Path
    ca: CA
    user: Credential
    user_cert: Path
    user_key: Path
    host_cert: Path
    host_key: Path

    @property
    def trust(self) -> Path:
        return self.ca.trust_dir


def issue(ca: CA, subject: str, *, days_from: float = -1, days_to: float = 30, key=None) -> Credential:
    """A user certificate with chosen validity, signed by ca (for the refusal tests)."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(parse_dn(subject)).issuer_name(ca.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=days_from))
            .not_valid_after(now + datetime.timedelta(days=days_to))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca.key, hashes.SHA256()))
    return Credential(cert, key, [])


@pytest.fixture(scope="package")
def world(tmp_path_factory) -> World:
    d = tmp_path_factory.mktemp("gsi")
    ca = init_ca(d / "ca", f"{BASE}/CN=Test CA")
    key, req = make_request(f"{BASE}/CN=Jane Doe", d / "user", "user")
    ca.sign_file(req, d / "user" / "usercert.pem")
    hkey, hreq = make_request(f"{BASE}/CN=localhost", d / "host", "host", ["localhost"], ["127.0.0.1"])
    ca.sign_file(hreq, d / "host" / "hostcert.pem")
    user = load_credential(d / "user" / "usercert.pem", key)
    return World(d, ca, user, d / "user" / "usercert.pem", key, d / "host" / "hostcert.pem", hkey)
