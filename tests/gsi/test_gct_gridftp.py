"""wrapgen's credentials in a real GSI session of the Grid Community Toolkit: a GCT GridFTP server running on
wrapgen's host certificate, trust directory and grid-mapfile, and globus-url-copy authenticating (and
delegating) with a proxy from `wrapgen proxy-init`."""

from __future__ import annotations

import os
import subprocess

from wrapgen.gsi.proxy import create_proxy, write_proxy

from .conftest import BASE


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
