"""A throw-away GSI world made with wrapgen.gsi in a temporary directory (never /etc/grid-security)."""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
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


def issue(ca: CA, subject: str, *, days_from: float = -1, days_to: float = 30, key=None,
          client_auth_only: bool = False) -> Credential:
    """A user certificate with chosen validity (and optionally extendedKeyUsage=clientAuth), signed by ca."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(parse_dn(subject)).issuer_name(ca.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=days_from))
            .not_valid_after(now + datetime.timedelta(days=days_to))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    if client_auth_only:
        cert = cert.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return Credential(cert.sign(ca.key, hashes.SHA256()), key, [])


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


@pytest.fixture
def gct_gsi_server(world, tmp_path):
    """GCT's globus-gridftp-server in GSI mode on the world's host credential; (port, root, log)."""
    from wrapgen.gridftp.gct import start_gct

    # Outside pytest's 0700 tmp tree: a root server serves files as the mapped account (nobody).
    root = Path(tempfile.mkdtemp(prefix="wrapgen-gct-root-"))
    root.chmod(0o777)  # writable by the mapped account
    # The server reads the trust directory again after it became the mapped account (data channel
    # authentication): it must be readable there too.
    trust = root.parent / f"{root.name}-certificates"
    shutil.copytree(world.trust, trust)
    trust.chmod(0o755)
    (root / "hello.txt").write_text("hello from GCT\n")
    (root / "hello.txt").chmod(0o644)
    gridmap = tmp_path / "grid-mapfile"
    account = "nobody" if os.getuid() == 0 else __import__("getpass").getuser()
    gridmap.write_text(f'"{BASE}/CN=Jane Doe" {account}\n')
    log = tmp_path / "gct.log"
    proc, port = start_gct(root, gsi={"X509_CERT_DIR": str(trust), "X509_USER_CERT": str(world.host_cert),
                                      "X509_USER_KEY": str(world.host_key), "GRIDMAP": str(gridmap)}, log=log)
    yield port, root, log
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(root)
    shutil.rmtree(trust)


@pytest.fixture
def ours_gsi(world, tmp_path):
    """wrapgen's GridFTP server in GSI mode on the world's host credential; (port, root, gridmap path)."""
    from wrapgen.gridftp.security import GSIConfig
    from wrapgen.gridftp.server import Server

    root = tmp_path / "gsi-root"
    root.mkdir()
    gridmap = tmp_path / "grid-mapfile-ours"
    gridmap.write_text(f'"{BASE}/CN=Jane Doe" jane\n')
    with Server(root, gsi=GSIConfig(world.host_cert, world.host_key, world.trust, gridmap)) as srv:
        yield srv.port, root, gridmap


@pytest.fixture
def proxy_env(world, tmp_path):
    """Environment for GCT tools and wrapgen clients: the world's trust dir and a fresh proxy of Jane Doe."""
    from wrapgen.gsi.proxy import create_proxy, write_proxy

    proxy = write_proxy(create_proxy(world.user, 1), tmp_path / "x509up")
    return {**os.environ, "X509_CERT_DIR": str(world.trust), "X509_USER_PROXY": str(proxy)}
