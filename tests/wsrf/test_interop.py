"""Independent SOAP stacks against wrapgen services: Perl SOAP::Lite drives a WS-Resource end to end, gSOAP's
wsdl2h reads every WSDL without a warning, and the `wrapgen serve` / `wrapgen wsrf` command lines work."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from .conftest import ROOT
from .test_resources import local_heat

HERE = Path(__file__).resolve().parent


def test_perl_soap_lite_create_start_property_fetch_destroy(server) -> None:
    r = subprocess.run(["perl", str(HERE / "peers" / "soaplite_heat.pl"), server.url], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    grid = np.array([float(x) for x in r.stdout.split()]).reshape((5, 5), order="F")
    u = np.zeros((5, 5), order="F")
    u[0, :] = 100
    np.testing.assert_allclose(grid, local_heat(u, 1.0, 0.1, 1.0, 12), rtol=1e-10)


@pytest.mark.parametrize("path", ["heat", "heat/heat_step", "md", "md/lj_forces", "misbehave",
                                  "misbehave/spin"])
def test_gsoap_wsdl2h_reads_the_wsdl_without_warnings(server, tmp_path, path) -> None:
    wsdl = tmp_path / "service.wsdl"
    wsdl.write_bytes(urllib.request.urlopen(f"{server.url}/{path}?wsdl").read())
    r = subprocess.run(["wsdl2h", "-o", str(tmp_path / "service.h"), str(wsdl)], capture_output=True, text=True,
                       timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert not re.search(r"(?i)warning|error", out), out
    header = (tmp_path / "service.h").read_text()
    assert "ResourceProperties" in header if "/" in path else "Create_" in header


def test_serve_and_the_wsrf_tools_on_the_command_line(tmp_path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    serve = subprocess.Popen([sys.executable, "-P", "-m", "wrapgen", "serve", str(ROOT / "services" / "heat.yaml"),
                              "--port", "0", "--workers", "1", "--state", str(tmp_path / "state.db")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = serve.stdout.readline()
        m = re.match(r"serving heat at (http://127\.0\.0\.1:\d+)/heat\?wsdl", line)
        assert m, line + serve.stderr.read() if serve.poll() is not None else line
        url = m.group(1)

        def cli(*args: str) -> str:
            r = subprocess.run([sys.executable, "-P", "-m", "wrapgen", "wsrf", *args], capture_output=True,
                               text=True, timeout=120)
            assert r.returncode == 0, r.stderr
            return r.stdout

        u = np.zeros((6, 6), order="F")
        u[0, :] = 50
        np.save(tmp_path / "u.npy", u)
        epr = tmp_path / "epr.xml"
        cli("create", f"{url}/heat", "heat_step", f"u=@{tmp_path / 'u.npy'}", "alpha=1.0", "dt=0.1", "dx=1",
            "nsteps=5", "-o", str(epr))
        assert "ResourceKey" in epr.read_text()
        assert cli("status", "-e", str(epr)).strip() == "Created"
        assert ">Created</r:Status>" in cli("get-property", "-e", str(epr), "Status")
        watcher = subprocess.Popen([sys.executable, "-P", "-m", "wrapgen", "wsrf", "subscribe", "-e", str(epr),
                                    "--timeout", "120"], stdout=subprocess.PIPE, text=True)
        assert watcher.stdout.readline().strip() == "status: Created"
        cli("start", "-e", str(epr))
        out, _ = watcher.communicate(timeout=150)
        assert watcher.returncode == 0
        assert out.splitlines() == ["status: Created -> Running", "status: Running -> Succeeded"]
        out = cli("result", "-e", str(epr), "--save", str(tmp_path / "out"))
        assert "u: float64 array of shape (6, 6)" in out
        np.testing.assert_array_equal(np.load(tmp_path / "out" / "u.npy"), local_heat(u, 1.0, 0.1, 1.0, 5))
        assert cli("query", "-e", str(epr), "string(r:Progress)").strip() == "1.0"
        assert cli("set-termination-time", "-e", str(epr), "infinity").strip() == "infinity"
        cli("destroy", "-e", str(epr))
        r = subprocess.run([sys.executable, "-P", "-m", "wrapgen", "wsrf", "status", "-e", str(epr)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 1 and "no heat_step resource with key" in r.stderr
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
    assert serve.returncode == 0


JARS = ["axis", "axis-saaj", "axis-jaxrpc", "commons-logging", "commons-discovery", "wsdl4j", "javax.activation",
        "javax.mail"]


@pytest.fixture(scope="module")
def saaj(tmp_path_factory) -> list[str]:
    """The Java SAAJ client compiled against Debian's Axis 1.4 (libaxis-java); the java command to run it."""
    cp = ":".join(f"/usr/share/java/{j}.jar" for j in JARS)
    out = tmp_path_factory.mktemp("saaj")
    subprocess.run(["javac", "-cp", cp, "-d", str(out), str(HERE / "peers" / "SaajFault.java")], check=True,
                   capture_output=True, text=True)
    return ["java", "-cp", f"{cp}:{out}", "SaajFault"]


def test_axis_saaj_reads_faults_and_results(server, saaj) -> None:
    """WS-I BP 1.1 R1126: a fault travels with HTTP 500, or GT4-era Java clients see only "(400)Bad Request"
    (issue 11, item 19). A client fault keeps soap:Client as its faultcode."""
    bad = subprocess.run([*saaj, f"{server.url}/heat", "one"], capture_output=True, text=True, timeout=120)
    assert bad.stdout.startswith("FAULT "), bad.stdout + bad.stderr
    assert "Client" in bad.stdout and "argument 'alpha': 'one' is not a valid xs:double" in bad.stdout
    good = subprocess.run([*saaj, f"{server.url}/heat", "1.0"], capture_output=True, text=True, timeout=120)
    assert good.stdout.startswith("OK heat_stepResponse"), good.stdout + good.stderr
