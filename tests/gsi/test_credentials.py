"""CA, requests, certificates and RFC 3820 proxies, checked against the Grid Community Toolkit's own tools
(Debian globus-proxy-utils: grid-proxy-init, grid-proxy-info)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from cryptography import x509

from wrapgen.gsi import GSIError
from wrapgen.gsi.ca import make_request
from wrapgen.gsi.names import dn_string, parse_dn
from wrapgen.gsi.pem import load_certs
from wrapgen.gsi.proxy import create_proxy, delegate, describe, load_credential, write_proxy
from wrapgen.gsi.verify import verify_chain

from .conftest import BASE


def wrapgen_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-P", "-m", "wrapgen", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def test_dn_round_trip_and_errors() -> None:
    dn = "/O=Grid/OU=Lab A/CN=Jane Doe/emailAddress=jane@example.org"
    assert dn_string(parse_dn(dn)) == dn
    with pytest.raises(GSIError, match="must start with '/'"):
        parse_dn("O=Grid")
    with pytest.raises(GSIError, match="unknown attribute 'XX'"):
        parse_dn("/XX=1")


def test_the_trust_directory_has_what_gct_needs(world) -> None:
    h = world.ca.hash
    assert h == subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(world.ca.dir / "cacert.pem")],
                               capture_output=True, text=True, check=True).stdout.strip()
    assert (world.trust / f"{h}.0").exists()
    policy = (world.trust / f"{h}.signing_policy").read_text()
    assert f"access_id_CA      X509         '{BASE}/CN=Test CA'" in policy
    assert f'cond_subjects     globus       \'"{BASE}/*"\'' in policy
    assert stat.S_IMODE((world.ca.dir / "cakey.pem").stat().st_mode) == 0o600


def test_host_and_user_certificates(world) -> None:
    host = load_certs(world.host_cert)[0]
    san = host.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    user = load_certs(world.user_cert)[0]
    with pytest.raises(x509.ExtensionNotFound):  # no EKU on user certificates (DCAU needs them as TLS servers)
        user.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert verify_chain([user], world.trust).identity == f"{BASE}/CN=Jane Doe"
    assert stat.S_IMODE(world.user_key.stat().st_mode) == 0o600


def test_the_ca_signs_only_its_namespace(world, tmp_path) -> None:
    _, req = make_request("/O=Elsewhere/CN=Mallory", tmp_path, "user")
    with pytest.raises(GSIError, match=r"/O=Elsewhere/CN=Mallory is outside this CA's namespace"):
        world.ca.sign_file(req, tmp_path / "cert.pem")


def test_proxy_chain_and_delegation(world, tmp_path) -> None:
    proxy = create_proxy(world.user, hours=2)
    assert dn_string(proxy.cert.subject).startswith(f"{BASE}/CN=Jane Doe/CN=")
    path = write_proxy(proxy, tmp_path / "x509up")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_credential(path)
    info = describe(again, path)
    assert info["type"] == "RFC 3820 compliant impersonation proxy" and info["identity"] == f"{BASE}/CN=Jane Doe"
    assert 7000 < int(info["timeleft"]) <= 7200
    v = verify_chain(again.full_chain, world.trust)
    assert v.identity == f"{BASE}/CN=Jane Doe" and v.proxies == 1
    # Delegation: a peer sends a request, we sign a proxy for its key.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

    peer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = x509.CertificateSigningRequestBuilder().subject_name(parse_dn("/CN=ignored")).sign(peer_key, hashes.SHA256())
    delegated = delegate(csr, again)
    assert delegated.public_key().public_numbers() == peer_key.public_key().public_numbers()
    assert verify_chain([delegated, *again.full_chain], world.trust).proxies == 2


def test_gct_reads_our_proxy_and_we_verify_gcts(world, tmp_path) -> None:
    ours = write_proxy(create_proxy(world.user, hours=3), tmp_path / "ours.pem")
    env = {**os.environ, "X509_CERT_DIR": str(world.trust)}
    r = subprocess.run(["grid-proxy-info", "-f", str(ours)], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "type     : RFC 3820 compliant impersonation proxy" in r.stdout
    assert f"identity : {BASE}/CN=Jane Doe" in r.stdout
    # grid-proxy-init -verify trusts a CA made by wrapgen (signing policy included) ...
    theirs = tmp_path / "theirs.pem"
    r = subprocess.run(["grid-proxy-init", "-q", "-verify", "-cert", str(world.user_cert), "-key",
                        str(world.user_key), "-out", str(theirs), "-valid", "1:00"], capture_output=True, text=True,
                       env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    # ... and wrapgen accepts the proxy grid-proxy-init made, and can extend it.
    cred = load_credential(theirs)
    assert verify_chain(cred.full_chain, world.trust).identity == f"{BASE}/CN=Jane Doe"
    assert verify_chain(create_proxy(cred, 0.5).full_chain, world.trust).proxies == 2


def test_an_openssl_made_ca_is_trusted_by_wrapgen(tmp_path) -> None:
    """A CA made the way shared/tools/gsi-setup.sh makes one (openssl + a hand-written signing policy)."""
    def run(*cmd: str) -> str:
        return subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=tmp_path).stdout

    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2", "-keyout", "cakey.pem",
        "-out", "cacert.pem", "-subj", "/O=Grid/OU=OpenSSL/CN=Other CA", "-addext",
        "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    h = run("openssl", "x509", "-in", "cacert.pem", "-noout", "-hash").strip()
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / f"{h}.0").write_bytes((tmp_path / "cacert.pem").read_bytes())
    (certs / f"{h}.signing_policy").write_text(
        "access_id_CA X509 '/O=Grid/OU=OpenSSL/CN=Other CA'\npos_rights globus CA:sign\n"
        "cond_subjects globus '\"/O=Grid/OU=OpenSSL/*\"'\n")
    run("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "userkey.pem", "-out", "user.csr",
        "-subj", "/O=Grid/OU=OpenSSL/CN=Bob")
    run("openssl", "x509", "-req", "-in", "user.csr", "-CA", "cacert.pem", "-CAkey", "cakey.pem", "-set_serial", "7",
        "-days", "1", "-out", "usercert.pem")
    os.chmod(tmp_path / "userkey.pem", 0o600)
    cred = load_credential(tmp_path / "usercert.pem", tmp_path / "userkey.pem")
    assert verify_chain(create_proxy(cred, 1).full_chain, certs).identity == "/O=Grid/OU=OpenSSL/CN=Bob"


def test_command_line_tools(tmp_path) -> None:
    ca_dir = tmp_path / "ca"
    r = wrapgen_cli("ca", "init", str(ca_dir), "--subject", "/O=Grid/OU=cli/CN=CLI CA")
    assert r.returncode == 0, r.stderr
    assert "export X509_CERT_DIR=" in r.stdout
    r = wrapgen_cli("cert", "request", "--user", "Ann", "--subject-base", "/O=Grid/OU=cli", "-o", str(tmp_path / "u"))
    assert r.returncode == 0, r.stderr
    r = wrapgen_cli("ca", "sign", str(ca_dir), str(tmp_path / "u" / "usercert_request.pem"), "-o",
                    str(tmp_path / "u" / "usercert.pem"))
    assert r.returncode == 0 and "signed /O=Grid/OU=cli/CN=Ann" in r.stdout, r.stderr
    r = wrapgen_cli("cert", "request", "--host", "node1.example.org", "--ip", "127.0.0.1", "--subject-base",
                    "/O=Grid/OU=cli", "-o", str(tmp_path / "h"))
    assert r.returncode == 0, r.stderr
    env = {"X509_CERT_DIR": str(ca_dir / "certificates"), "X509_USER_CERT": str(tmp_path / "u" / "usercert.pem"),
           "X509_USER_KEY": str(tmp_path / "u" / "userkey.pem"), "X509_USER_PROXY": str(tmp_path / "x509up")}
    r = wrapgen_cli("proxy-init", "--valid", "2", env=env)
    assert r.returncode == 0 and "Your identity: /O=Grid/OU=cli/CN=Ann" in r.stdout, r.stderr
    assert stat.S_IMODE((tmp_path / "x509up").stat().st_mode) == 0o600
    r = wrapgen_cli("proxy-info", env=env)
    assert "type     : RFC 3820 compliant impersonation proxy" in r.stdout and "timeleft : 1:59:" in r.stdout
    assert wrapgen_cli("proxy-info", "-e", "--hours", "1", env=env).returncode == 0
    assert wrapgen_cli("proxy-info", "-e", "--hours", "3", env=env).returncode == 1
    assert wrapgen_cli("proxy-info", "--identity", env=env).stdout.strip() == "/O=Grid/OU=cli/CN=Ann"
    assert wrapgen_cli("proxy-destroy", env=env).returncode == 0
    assert not (tmp_path / "x509up").exists()
    r = wrapgen_cli("proxy-info", env=env)
    assert r.returncode == 1 and "cannot read certificate file" in r.stderr
    assert wrapgen_cli("proxy-info", "-e", env=env).returncode == 1
