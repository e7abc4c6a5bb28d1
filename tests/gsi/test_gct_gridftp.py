"""wrapgen's credentials in a real GSI session of the Grid Community Toolkit: a GCT GridFTP server running on
wrapgen's host certificate, trust directory and grid-mapfile, and globus-url-copy authenticating (and
delegating) with a proxy from `wrapgen proxy-init`."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest

from wrapgen.gsi.proxy import create_proxy, write_proxy

from .conftest import BASE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gct_gsi_server(world, tmp_path):
    import shutil
    import tempfile

    from pathlib import Path

    # Outside pytest's 0700 tmp tree: a root server serves files as the mapped account (nobody).
    root = Path(tempfile.mkdtemp(prefix="wrapgen-gct-root-"))
    root.chmod(0o755)
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
    port = free_port()
    env = {**os.environ, "X509_CERT_DIR": str(trust), "X509_USER_CERT": str(world.host_cert),
           "X509_USER_KEY": str(world.host_key), "GRIDMAP": str(gridmap)}
    log = tmp_path / "gct.log"
    proc = subprocess.Popen(["globus-gridftp-server", "-p", str(port), "-home-dir", str(root), "-control-interface",
                             "127.0.0.1", "-data-interface", "127.0.0.1", "-port-range", "50000,50999", "-d", "error",
                             "-l", str(log)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port, root, log
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(root)
    shutil.rmtree(trust)


def test_globus_url_copy_authenticates_with_a_wrapgen_proxy(world, gct_gsi_server, tmp_path) -> None:
    port, root, log = gct_gsi_server
    proxy = write_proxy(create_proxy(world.user, 1), tmp_path / "x509up")
    env = {**os.environ, "X509_CERT_DIR": str(world.trust), "X509_USER_PROXY": str(proxy)}
    out = tmp_path / "copy.txt"
    r = subprocess.run(["globus-url-copy", f"gsiftp://localhost:{port}{root}/hello.txt", f"file://{out}"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr + (log.read_text() if log.exists() else "")
    assert out.read_text() == "hello from GCT\n"


def test_gct_refuses_a_dn_missing_from_its_grid_mapfile(world, gct_gsi_server, tmp_path) -> None:
    from wrapgen.gsi.ca import make_request
    from wrapgen.gsi.proxy import load_credential

    port, root, _ = gct_gsi_server
    key, req = make_request(f"{BASE}/CN=Joe Outsider", tmp_path, "user")
    world.ca.sign_file(req, tmp_path / "usercert.pem")
    proxy = write_proxy(create_proxy(load_credential(tmp_path / "usercert.pem", key), 1), tmp_path / "x509up")
    env = {**os.environ, "X509_CERT_DIR": str(world.trust), "X509_USER_PROXY": str(proxy)}
    r = subprocess.run(["globus-url-copy", f"gsiftp://localhost:{port}{root}/hello.txt", f"file://{tmp_path}/x"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "530-Login incorrect." in r.stderr and f"Could not map {BASE}/CN=Joe Outsider" in r.stderr, r.stderr
