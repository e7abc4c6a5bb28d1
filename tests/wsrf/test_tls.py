"""HTTPS: the server's certificate, client certificates verified against a CA directory, RFC 3820 proxies
accepted, clients without a certificate or with an untrusted one refused."""

from __future__ import annotations

import datetime
import ssl
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import wrapgen
from wrapgen.wsrf import Server, WSRFError

from .conftest import ROOT
from .test_stateless import plate

PROXY_CERT_INFO = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14")
INHERIT_ALL = "1.3.6.1.5.5.7.21.1"


def _name(*cns: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "wrapgen test grid")]
                     + [x509.NameAttribute(NameOID.COMMON_NAME, cn) for cn in cns])


def _cert(subject, issuer, key, issuer_key, *, ca=False, san=None, proxy=False, eku=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(hours=2))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         # Key identifiers as real CAs write them (Python 3.13 verifies with VERIFY_X509_STRICT, which wants them)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False))
    if ca:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if proxy:
        # ProxyCertInfo: SEQUENCE { SEQUENCE { OID id-ppl-inheritAll } } (RFC 3820 section 3.8), DER by hand.
        oid = bytes.fromhex("06082b06010505071501")
        policy = b"\x30" + bytes([len(oid)]) + oid
        b = b.add_extension(x509.UnrecognizedExtension(PROXY_CERT_INFO, b"\x30" + bytes([len(policy)]) + policy),
                            critical=True)
    return b.sign(issuer_key, hashes.SHA256())


def _write(path: Path, *items) -> str:
    out = b""
    for item in items:
        if isinstance(item, x509.Certificate):
            out += item.public_bytes(serialization.Encoding.PEM)
        else:
            out += item.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
    path.write_bytes(out)
    path.chmod(0o600)
    return str(path)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    d = tmp_path_factory.mktemp("grid")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(_name("Test CA"), _name("Test CA"), ca_key, ca_key, ca=True)
    host_key = ec.generate_private_key(ec.SECP256R1())
    host = _cert(_name("host/localhost"), ca.subject, host_key, ca_key,
                 san=[x509.DNSName("localhost"), x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))],
                 eku=[x509.oid.ExtendedKeyUsageOID.SERVER_AUTH])
    user_key = ec.generate_private_key(ec.SECP256R1())
    user = _cert(_name("Jane Scientist"), ca.subject, user_key, ca_key, eku=[x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH])
    proxy_key = ec.generate_private_key(ec.SECP256R1())
    proxy = _cert(_name("Jane Scientist", "123456789"), user.subject, proxy_key, user_key, proxy=True)
    rogue_key = ec.generate_private_key(ec.SECP256R1())
    rogue_ca = _cert(_name("Rogue CA"), _name("Rogue CA"), rogue_key, rogue_key, ca=True)
    rogue = _cert(_name("Mallory"), rogue_ca.subject, rogue_key, rogue_key)
    certs = d / "certificates"
    certs.mkdir()
    ca_pem = _write(certs / "ca.pem", ca)
    # An X509_CERT_DIR holds <subject hash>.0 files; OpenSSL finds the CA by that name.
    import subprocess

    h = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", ca_pem], capture_output=True, text=True,
                       check=True).stdout.strip()
    (certs / f"{h}.0").write_bytes(Path(ca_pem).read_bytes())
    return {
        "dir": str(certs), "ca": ca_pem,
        "host": (_write(d / "hostcert.pem", host), _write(d / "hostkey.pem", host_key)),
        "user": (_write(d / "usercert.pem", user), _write(d / "userkey.pem", user_key)),
        # A proxy file as grid-proxy-init writes it: proxy certificate, its key, then the user's certificate.
        "proxy": _write(d / "x509up", proxy, proxy_key, user),
        "rogue": (_write(d / "roguecert.pem", rogue), _write(d / "roguekey.pem", rogue_key)),
    }


@pytest.fixture(scope="module")
def https(grid, tmp_path_factory):
    with Server([ROOT / "services" / "heat.yaml"], state=tmp_path_factory.mktemp("tls") / "s.db", workers=1,
                tls_cert=grid["host"][0], tls_key=grid["host"][1], tls_ca=grid["dir"]) as srv:
        yield srv


def test_the_server_speaks_https_with_client_certificates(https, grid) -> None:
    assert https.url.startswith("https://127.0.0.1:")
    heat = wrapgen.connect(f"{https.url}/heat", cert=grid["user"], verify=grid["ca"])
    u = plate()
    heat.heat_step(u, 1.0, 0.1, 1.0)
    assert u[1, 3] > 0
    run = heat.heat_step.create(u=plate(), alpha=1.0, dt=0.1, dx=1.0)
    run.start()
    assert run.wait(60) == "Succeeded"
    np.testing.assert_array_equal(run.result(), u)
    run.destroy()


def test_an_rfc3820_proxy_is_accepted(https, grid) -> None:
    heat = wrapgen.connect(f"{https.url}/heat", cert=grid["proxy"], verify=grid["ca"])
    u = plate()
    heat.heat_step(u, 1.0, 0.1, 1.0)
    assert u[1, 3] > 0


@pytest.mark.parametrize("who", ["nobody", "rogue"])
def test_clients_without_a_trusted_certificate_are_refused(https, grid, who) -> None:
    ctx = ssl.create_default_context(cafile=grid["ca"])
    if who == "rogue":
        ctx.load_cert_chain(*grid["rogue"])
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionResetError)):
        urllib.request.urlopen(f"{https.url}/heat?wsdl", context=ctx, timeout=30).read()
    with pytest.raises(WSRFError):
        wrapgen.connect(f"{https.url}/heat", cert=grid["rogue"] if who == "rogue" else None, verify=grid["ca"])


def test_tls_settings_are_checked(grid, tmp_path) -> None:
    with pytest.raises(WSRFError, match="needs both a certificate"):
        Server([ROOT / "services" / "heat.yaml"], state=tmp_path / "s.db", tls_cert=grid["host"][0])
    with pytest.raises(WSRFError, match="needs a CA file or directory"):
        Server([ROOT / "services" / "heat.yaml"], state=tmp_path / "s.db", tls_cert=grid["host"][0],
               tls_key=grid["host"][1])


def test_the_wsrf_tools_over_https_with_a_proxy(https, grid, tmp_path) -> None:
    import subprocess
    import sys

    def cli(*args: str) -> str:
        r = subprocess.run([sys.executable, "-P", "-m", "wrapgen", "wsrf", *args, "--cert", grid["proxy"],
                            "--ca", grid["dir"]], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stdout

    epr = tmp_path / "epr.xml"
    cli("create", f"{https.url}/heat", "heat_step", "alpha=1", "-o", str(epr))
    assert cli("status", "-e", str(epr)).strip() == "Created"
    cli("destroy", "-e", str(epr))
    r = subprocess.run([sys.executable, "-P", "-m", "wrapgen", "wsrf", "status", "-e", str(epr)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "SSL" in r.stderr, r.stderr  # no certificate, no trusted CA: refused
