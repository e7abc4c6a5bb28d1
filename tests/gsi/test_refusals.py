"""Every credential GSI must refuse is refused, with a message that says why."""

from __future__ import annotations

import datetime
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from wrapgen.gsi import GSIError
from wrapgen.gsi.ca import init_ca
from wrapgen.gsi.gridmap import Gridmap
from wrapgen.gsi.pem import key_pem
from wrapgen.gsi.proxy import PROXY_CERT_INFO, Credential, create_proxy, load_credential, proxy_cert_info, write_proxy
from wrapgen.gsi.verify import verify_chain

from .conftest import BASE, issue


def _proxy(issuer: Credential, *, subject: x509.Name | None = None, hours: float = 1, start: float = -0.1,
           path_length: int | None = None) -> Credential:
    """A proxy built by hand, to break one rule at a time."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = subject or x509.Name([*issuer.cert.subject.rdns,
                                    x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, "42")])])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.cert.subject)
            .public_key(key.public_key()).serial_number(42)
            .not_valid_before(now + datetime.timedelta(hours=start)).not_valid_after(now + datetime.timedelta(hours=hours))
            .add_extension(x509.UnrecognizedExtension(PROXY_CERT_INFO, proxy_cert_info(path_length)), critical=True)
            .sign(issuer.key, hashes.SHA256()))
    return Credential(cert, key, issuer.full_chain)


def test_expired_and_not_yet_valid_certificates(world) -> None:
    old = issue(world.ca, f"{BASE}/CN=Old", days_from=-10, days_to=-1)
    with pytest.raises(GSIError, match=rf"certificate {BASE}/CN=Old has expired"):
        verify_chain([old.cert], world.trust)
    future = issue(world.ca, f"{BASE}/CN=Future", days_from=2, days_to=10)
    with pytest.raises(GSIError, match=rf"certificate {BASE}/CN=Future is not valid yet"):
        verify_chain([future.cert], world.trust)


def test_an_expired_proxy(world) -> None:
    stale = _proxy(world.user, hours=-0.5, start=-2)
    with pytest.raises(GSIError, match=r"CN=Jane Doe/CN=42 has expired"):
        verify_chain(stale.full_chain, world.trust)


def test_an_untrusted_ca(world, tmp_path) -> None:
    other = init_ca(tmp_path / "other", f"{BASE}/CN=Other CA")
    stranger = issue(other, f"{BASE}/CN=Stranger")
    with pytest.raises(GSIError, match=r"CN=Stranger was issued by a CA that is not in the trust directory"):
        verify_chain([stranger.cert], world.trust)


def test_a_tampered_signature(world) -> None:
    der = bytearray(world.user.cert.public_bytes(__import__("cryptography.hazmat.primitives.serialization",
                                                             fromlist=["Encoding"]).Encoding.DER))
    der[-10] ^= 0xFF  # inside the signature value
    tampered = x509.load_der_x509_certificate(bytes(der))
    with pytest.raises(GSIError, match=r"CN=Jane Doe has a signature that does not verify"):
        verify_chain([tampered], world.trust)


def test_a_proxy_whose_subject_does_not_extend_its_issuers(world) -> None:
    bad = _proxy(world.user, subject=x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Grid"),
                                                x509.NameAttribute(NameOID.COMMON_NAME, "Somebody Else")]))
    with pytest.raises(GSIError, match=r"/O=Grid/CN=Somebody Else is a proxy whose subject does not extend its "
                                        r"issuer's by one CN"):
        verify_chain(bad.full_chain, world.trust)


def test_proxy_path_length_is_honoured(world) -> None:
    leaf_only = create_proxy(world.user, 1, path_length=0)
    with pytest.raises(GSIError, match="path length 0: it may not sign further proxies"):
        create_proxy(leaf_only, 1)
    forged = _proxy(leaf_only)  # signed anyway, by hand
    with pytest.raises(GSIError, match=r"exceeds its proxy path length \(OpenSSL: proxy path length constraint"):
        verify_chain(forged.full_chain, world.trust)
    one_more = create_proxy(create_proxy(world.user, 1, path_length=1), 1)
    assert verify_chain(one_more.full_chain, world.trust).proxies == 2


def test_a_dn_missing_from_the_grid_mapfile(world, tmp_path) -> None:
    gm = tmp_path / "grid-mapfile"
    gm.write_text(f'"{BASE}/CN=Someone Else" someone\n')
    ident = verify_chain(create_proxy(world.user, 1).full_chain, world.trust).identity
    with pytest.raises(GSIError, match=rf"{BASE}/CN=Jane Doe is not in grid-mapfile {gm}"):
        Gridmap.load(gm).authorize(ident)


def test_a_key_readable_by_others(world, tmp_path) -> None:
    path = write_proxy(create_proxy(world.user, 1), tmp_path / "x509up")
    os.chmod(path, 0o644)
    with pytest.raises(GSIError, match=r"has mode 0644; it must be readable by its owner only \(chmod 600"):
        load_credential(path)
    key = tmp_path / "userkey.pem"
    key.write_bytes(key_pem(world.user.key))
    os.chmod(key, 0o640)
    with pytest.raises(GSIError, match="private key .* has mode 0640"):
        load_credential(world.user_cert, key)


def test_a_certificate_revoked_by_a_crl(world, tmp_path) -> None:
    revoked = issue(world.ca, f"{BASE}/CN=Revoked")
    assert verify_chain([revoked.cert], world.trust)
    crl = world.ca.revoke(revoked.cert)
    try:
        with pytest.raises(GSIError, match=rf"{BASE}/CN=Revoked \(serial [0-9a-f]+\) is revoked by {crl}"):
            verify_chain([revoked.cert], world.trust)
        with pytest.raises(GSIError, match="is revoked"):  # and so is every proxy it made
            verify_chain(create_proxy(revoked, 1).full_chain, world.trust)
        assert verify_chain(world.user.full_chain, world.trust)  # others are not
    finally:
        crl.unlink()


def test_a_ca_without_a_signing_policy(world, tmp_path) -> None:
    import shutil

    trust = tmp_path / "certs"
    shutil.copytree(world.trust, trust)
    policy = trust / f"{world.ca.hash}.signing_policy"
    policy.unlink()
    with pytest.raises(GSIError, match=rf"the CA {BASE}/CN=Test CA has no signing policy \({policy}\)"):
        verify_chain(world.user.full_chain, trust)
    policy.write_text(f"access_id_CA X509 '{BASE}/CN=Test CA'\npos_rights globus CA:sign\n"
                      "cond_subjects globus '\"/O=Elsewhere/*\"'\n")
    with pytest.raises(GSIError, match=r"CN=Jane Doe is outside what .*CN=Test CA may sign"):
        verify_chain(world.user.full_chain, trust)
