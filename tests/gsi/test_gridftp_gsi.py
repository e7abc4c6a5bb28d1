"""GSI logins on GridFTP both ways: globus-url-copy against wrapgen's server, wrapgen's client against GCT's
server and its own, third-party transfers between the two, data channels authenticated (DCAU A) or not."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import subprocess
import sys

import pytest

from wrapgen.gridftp.client import Client, ReplyError, transfer
from wrapgen.gridftp.errors import GridFTPError

from .conftest import BASE, issue


def guc(env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["globus-url-copy", *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("opts", [[], ["-nodcau"], ["-fast", "-p", "4"], ["tls1.2", "-fast", "-p", "2"], ["-dcpriv"],
                                  ["-dcpriv", "-fast", "-p", "4"]],
                         ids=["dcau", "nodcau", "fast-p4", "tls12", "private", "private-fast-p4"])
def test_globus_url_copy_to_and_from_our_gsi_server(ours_gsi, proxy_env, tmp_path, opts) -> None:
    port, root, _ = ours_gsi
    env = dict(proxy_env)
    if opts[:1] == ["tls1.2"]:
        env["GLOBUS_GSSAPI_MAX_TLS_PROTOCOL"] = "TLS1_2_VERSION"
        opts = opts[1:]
    data = os.urandom(2 * 1024 * 1024 + 7)
    (tmp_path / "src.bin").write_bytes(data)
    r = guc(env, *opts, "-verify-checksum", f"file://{tmp_path}/src.bin", f"gsiftp://localhost:{port}/up.bin")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (root / "up.bin").read_bytes() == data
    r = guc(env, *opts, f"gsiftp://localhost:{port}/up.bin", f"file://{tmp_path}/down.bin")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "down.bin").read_bytes() == data


@pytest.mark.parametrize("mode", ["delegating", "no-delegation", "private"])
@pytest.mark.parametrize("which", ["ours_gsi", "gct_gsi_server"])
def test_our_client_logs_in_with_gsi(request, proxy_env, monkeypatch, tmp_path, which, mode) -> None:
    delegate = mode != "no-delegation"
    port, root, _ = request.getfixturevalue(which)
    prefix = "" if which == "ours_gsi" else str(root)
    for k in ("X509_CERT_DIR", "X509_USER_PROXY"):
        monkeypatch.setenv(k, proxy_env[k])
    data = os.urandom(1024 * 1024 + 1)
    (tmp_path / "src").write_bytes(data)
    with Client("localhost", port, gsi=True, delegate=delegate, private=mode == "private") as c:
        assert c.identity == f"{BASE}/CN=Jane Doe"
        assert (c.data_auth is not None) == delegate  # DCAU A with delegation, else DCAU N
        c.put(tmp_path / "src", f"{prefix}/up", parallel=4)
        c.get(f"{prefix}/up", tmp_path / "back", parallel=2)
        assert (tmp_path / "back").read_bytes() == data
        assert c.checksum(f"{prefix}/up", "MD5") == hashlib.md5(data).hexdigest()
        assert "up" in c.list(f"{prefix}/")
        with pytest.raises(ReplyError) as e:  # a refusal comes back through the protected channel
            c.get(f"{prefix}/missing", tmp_path / "x", parallel=1)
        assert e.value.code >= 500
        c.put(tmp_path / "src", f"{prefix}/again", parallel=1)  # the session still works


@pytest.mark.parametrize("direction", ["ours-to-gct", "gct-to-ours"])
def test_third_party_between_ours_and_gct(ours_gsi, gct_gsi_server, proxy_env, monkeypatch, direction) -> None:
    ours_port, ours_root, _ = ours_gsi
    gct_port, gct_root, _ = gct_gsi_server
    for k in ("X509_CERT_DIR", "X509_USER_PROXY"):
        monkeypatch.setenv(k, proxy_env[k])
    data = os.urandom(3 * 1024 * 1024 + 3)
    ends = {"ours": (ours_port, "", ours_root), "gct": (gct_port, str(gct_root), gct_root)}
    src, dst = (ends["ours"], ends["gct"]) if direction == "ours-to-gct" else (ends["gct"], ends["ours"])
    (src[2] / "tp.bin").write_bytes(data)
    (src[2] / "tp.bin").chmod(0o644)
    # by our client
    with Client("localhost", src[0], gsi=True) as a, Client("localhost", dst[0], gsi=True) as b:
        transfer(a, f"{src[1]}/tp.bin", b, f"{dst[1]}/by-client.bin", parallel=4)
    assert (dst[2] / "by-client.bin").read_bytes() == data
    # by globus-url-copy
    r = guc(proxy_env, "-p", "4", f"gsiftp://localhost:{src[0]}{src[1]}/tp.bin",
            f"gsiftp://localhost:{dst[0]}{dst[1]}/by-guc.bin")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (dst[2] / "by-guc.bin").read_bytes() == data


def test_third_party_mixed_anonymous_and_gsi(ours_gsi, gct, proxy_env, monkeypatch) -> None:
    """ftp:// (anonymous GCT) to gsiftp:// (ours): the GSI side is told DCAU N."""
    port, root, _ = ours_gsi
    gct_port, _, gct_root = gct
    for k in ("X509_CERT_DIR", "X509_USER_PROXY"):
        monkeypatch.setenv(k, proxy_env[k])
    data = os.urandom(100_001)
    (gct_root / "anon.bin").write_bytes(data)
    (gct_root / "anon.bin").chmod(0o644)
    with Client("127.0.0.1", gct_port) as a, Client("localhost", port, gsi=True) as b:
        transfer(a, f"{gct_root}/anon.bin", b, "/from-anon.bin", parallel=2)
    assert (root / "from-anon.bin").read_bytes() == data


# --- refusals ------------------------------------------------------------------------------------------------
class Raw:
    """A control connection for sending what a real client would not."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.sock.makefile("rb")
        assert self.reply().startswith("220")

    def reply(self) -> str:
        lines = []
        while True:
            line = self.f.readline().decode().rstrip("\r\n")
            lines.append(line)
            if len(line) >= 4 and line[3] == " " and line[:3].isdigit():
                return "\n".join(lines)

    def cmd(self, line: str) -> str:
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()


def test_gsi_only_server_refuses_everything_before_authentication(ours_gsi) -> None:
    port, _, _ = ours_gsi
    raw = Raw(port)
    assert raw.cmd("USER anonymous").startswith("530 Must perform GSSAPI authentication")
    assert raw.cmd("AUTH TLS").startswith("504 AUTH TLS: unknown authentication type")
    assert raw.cmd("ADAT AAAA").startswith("503 send AUTH GSSAPI first")
    assert raw.cmd("AUTH GSSAPI").startswith("334")
    assert raw.cmd("ADAT not*base64").startswith("501 ADAT: the token is not base64")
    r = raw.cmd("ADAT " + base64.b64encode(b"\x16\x03\x01\x00\x05hello").decode())
    assert r.startswith("535 Failed security check: GSI authentication failed"), r
    assert raw.cmd("NOOP").startswith("200")  # the server is still there


def test_plain_commands_after_auth_are_refused(ours_gsi, world, proxy_env) -> None:
    from wrapgen.gsi import gss
    from wrapgen.gsi.tls import client_context

    port, _, _ = ours_gsi
    raw = Raw(port)
    assert raw.cmd("AUTH GSSAPI").startswith("334")
    init = gss.Initiator(client_context(proxy_env["X509_USER_PROXY"], world.trust), "localhost")
    token = init.step(None)
    while True:
        r = raw.cmd("ADAT " + base64.b64encode(token).decode())
        if r.startswith("235"):
            break
        assert r.startswith("335 ADAT="), r
        token = init.step(base64.b64decode(r[9:]))

    def plain(reply: str) -> str:  # every reply after AUTH is protected (632)
        assert reply.startswith("632 "), reply
        return init.unwrap(base64.b64decode(reply[4:])).decode()

    assert plain(raw.cmd("PWD")).startswith("533 PWD: after AUTH GSSAPI every command must be protected")
    wrapped = base64.b64encode(init.wrap(b"SYST\r\n")).decode()
    assert plain(raw.cmd("ENC " + wrapped)).startswith("215 UNIX")
    # a forged token breaks TLS for good: the reason in clear, then the session ends
    r = raw.cmd("ENC " + base64.b64encode(b"garbage").decode())
    assert r.startswith("421 ENC: the token cannot be read") and "closing the session" in r, r
    assert raw.f.readline() == b""


def test_unmapped_dn_gets_530_with_the_reason(ours_gsi, world, tmp_path, monkeypatch) -> None:
    from wrapgen.gsi.proxy import create_proxy, write_proxy

    port, _, gridmap = ours_gsi
    outsider = issue(world.ca, f"{BASE}/CN=Joe Outsider")
    proxy = write_proxy(create_proxy(outsider, 1), tmp_path / "x509up_joe")
    monkeypatch.setenv("X509_CERT_DIR", str(world.trust))
    with pytest.raises(ReplyError) as e:
        Client("localhost", port, gsi=True, credential=proxy)
    assert e.value.code == 530 and f"{BASE}/CN=Joe Outsider is not in the server's grid-mapfile" in e.value.text
    assert str(gridmap) not in e.value.text  # the server's paths stay in its log (issue 11, item 24)
    # globus-url-copy shows the same reason
    env = {**os.environ, "X509_CERT_DIR": str(world.trust), "X509_USER_PROXY": str(proxy)}
    r = guc(env, f"gsiftp://localhost:{port}/x", f"file://{tmp_path}/x")
    assert r.returncode != 0 and "is not in the server's grid-mapfile" in r.stderr, r.stderr


def test_expired_proxy_and_untrusted_ca_are_refused_by_our_server(ours_gsi, world, tmp_path, monkeypatch) -> None:
    from wrapgen.gsi.ca import init_ca
    from wrapgen.gsi.proxy import write_proxy
    from wrapgen.gsi.proxy import Credential

    port, _, _ = ours_gsi
    monkeypatch.setenv("X509_CERT_DIR", str(world.trust))
    expired = issue(world.ca, f"{BASE}/CN=Jane Doe", days_from=-10, days_to=-1)
    path = write_proxy(Credential(expired.cert, expired.key, []), tmp_path / "expired")
    with pytest.raises(GridFTPError, match="expired"):
        Client("localhost", port, gsi=True, credential=path, delegate=False)
    rogue_ca = init_ca(tmp_path / "rogue", "/O=Rogue/CN=Rogue CA")
    rogue = issue(rogue_ca, f"{BASE}/CN=Jane Doe")
    path = write_proxy(Credential(rogue.cert, rogue.key, []), tmp_path / "rogue.pem")
    with pytest.raises(GridFTPError, match="unknown ca|unable to get local issuer|certificate verify failed"):
        Client("localhost", port, gsi=True, credential=path, delegate=False)


def test_client_refuses_a_server_certificate_for_another_host(world, tmp_path, monkeypatch) -> None:
    from wrapgen.gridftp.security import GSIConfig
    from wrapgen.gridftp.server import Server
    from wrapgen.gsi.ca import make_request
    from wrapgen.gsi.proxy import create_proxy, write_proxy

    key, req = make_request(f"{BASE}/CN=elsewhere.example.org", tmp_path, "host", ["elsewhere.example.org"])
    world.ca.sign_file(req, tmp_path / "hostcert.pem")
    gridmap = tmp_path / "gm"
    gridmap.write_text(f'"{BASE}/CN=Jane Doe" jane\n')
    root = tmp_path / "r"
    root.mkdir()
    monkeypatch.setenv("X509_CERT_DIR", str(world.trust))
    proxy = write_proxy(create_proxy(world.user, 1), tmp_path / "x509up")
    with Server(root, gsi=GSIConfig(tmp_path / "hostcert.pem", key, world.trust, gridmap)) as srv:
        with pytest.raises(GridFTPError, match="is not for 'localhost'"):
            Client("localhost", srv.port, gsi=True, credential=proxy)


def test_dcau_and_prot_refusals(ours_gsi, ours, proxy_env, monkeypatch, tmp_path) -> None:
    port, _, _ = ours
    raw = Raw(port)
    raw.cmd("USER anonymous")
    raw.cmd("PASS x@y")
    assert raw.cmd("DCAU A").startswith("504 DCAU A: data channel authentication needs a GSI login")
    assert raw.cmd("DCAU S /CN=x").startswith("504 DCAU S /CN=x: expected N or A")
    assert raw.cmd("PBSZ x").startswith("501 PBSZ x: expected a buffer size")
    assert raw.cmd("PROT P").startswith("536 PROT P: private data channels need a GSI login")
    assert raw.cmd("PROT E").startswith("536 PROT E: supported levels are C (clear) and P (private)")
    assert raw.cmd("AUTH GSSAPI").startswith("504 AUTH GSSAPI: this server has no GSI credential")
    # a GSI session: PROT P needs DCAU A, and DCAU N is refused while PROT P is in force
    gport, _, _ = ours_gsi
    for k in ("X509_CERT_DIR", "X509_USER_PROXY"):
        monkeypatch.setenv(k, proxy_env[k])
    with Client("localhost", gport, gsi=True, delegate=False) as c:  # DCAU N
        with pytest.raises(ReplyError, match="536 PROT P: private data channels need DCAU A"):
            c.command("PROT P", 200)
    with Client("localhost", gport, gsi=True, private=True) as c:
        with pytest.raises(ReplyError, match="503 DCAU N: PROT P is in force"):
            c.command("DCAU N", 200)
    with pytest.raises(GridFTPError, match="private data channels .* need dcau"):
        Client("localhost", gport, gsi=True, delegate=False, private=True)


def test_url_copy_speaks_gsiftp(ours_gsi, gct_gsi_server, proxy_env, tmp_path) -> None:
    port, root, _ = ours_gsi
    gport, groot, _ = gct_gsi_server
    data = os.urandom(500_000)
    (tmp_path / "f.bin").write_bytes(data)

    def url_copy(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-P", "-m", "wrapgen", "url-copy", *args], capture_output=True,
                              text=True, timeout=300, env=proxy_env)

    r = url_copy("-verify-checksum", f"file://{tmp_path}/f.bin", f"gsiftp://localhost:{port}/f.bin")
    assert r.returncode == 0, r.stderr
    r = url_copy("-p", "2", f"gsiftp://localhost:{port}/f.bin", f"gsiftp://localhost:{gport}{groot}/f.bin")
    assert r.returncode == 0, r.stderr
    assert (groot / "f.bin").read_bytes() == data
    r = url_copy("-nodcau", f"gsiftp://localhost:{gport}{groot}/f.bin", f"file://{tmp_path}/back.bin")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "back.bin").read_bytes() == data
    r = url_copy("-dcpriv", "-p", "2", f"gsiftp://localhost:{gport}{groot}/f.bin", f"file://{tmp_path}/priv.bin")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "priv.bin").read_bytes() == data
    r = url_copy("-dcpriv", "-nodcau", f"file://{tmp_path}/f.bin", f"gsiftp://localhost:{port}/x")
    assert r.returncode == 2 and "-dcpriv encrypts with the data channels' DCAU session" in r.stderr


def test_dcau_with_a_client_auth_only_user_certificate(ours_gsi, world, tmp_path, monkeypatch) -> None:
    """On a data connection the side that connects is the TLS client even when it is the server, so a user's
    proxy is checked as a TLS server certificate; GCT does not require that purpose, nor does wrapgen."""
    from wrapgen.gsi.proxy import create_proxy, write_proxy

    port, root, _ = ours_gsi
    user = issue(world.ca, f"{BASE}/CN=Jane Doe", client_auth_only=True)
    proxy = write_proxy(create_proxy(user, 1), tmp_path / "x509up_eku")
    env = {**os.environ, "X509_CERT_DIR": str(world.trust), "X509_USER_PROXY": str(proxy)}
    data = os.urandom(300_001)
    (tmp_path / "f").write_bytes(data)
    r = guc(env, "-fast", "-p", "2", f"file://{tmp_path}/f", f"gsiftp://localhost:{port}/eku.bin")  # we accept
    assert r.returncode == 0, r.stderr
    r = guc(env, "-fast", "-p", "2", f"gsiftp://localhost:{port}/eku.bin", f"file://{tmp_path}/g")  # we connect
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "g").read_bytes() == data
    monkeypatch.setenv("X509_CERT_DIR", str(world.trust))
    with Client("localhost", port, gsi=True, credential=proxy) as c:
        c.put(tmp_path / "f", "/eku2.bin", parallel=2)  # the client connects
        c.get("/eku2.bin", tmp_path / "h", parallel=2)  # the server connects
    assert (tmp_path / "h").read_bytes() == data


def test_a_data_connection_from_another_identity_is_refused(ours_gsi, world, proxy_env, tmp_path, monkeypatch) -> None:
    from wrapgen.gridftp.security import DataAuth
    from wrapgen.gsi.proxy import create_proxy

    port, root, _ = ours_gsi
    for k in ("X509_CERT_DIR", "X509_USER_PROXY"):
        monkeypatch.setenv(k, proxy_env[k])
    (tmp_path / "f").write_bytes(b"payload")
    mallory = create_proxy(issue(world.ca, f"{BASE}/CN=Mallory"), 1)
    with Client("localhost", port, gsi=True) as c:  # logged in as Jane Doe
        c.data_auth = DataAuth(mallory, world.trust)  # ... but Mallory's certificate on the data connection
        with pytest.raises(GridFTPError) as e:
            c.put(tmp_path / "f", "/stolen.bin", parallel=1)
    assert f"the peer is {BASE}/CN=Mallory, expected {BASE}/CN=Jane Doe" in str(e.value)
    assert not (root / "stolen.bin").exists() or (root / "stolen.bin").read_bytes() == b""


def test_gsi_sessions_may_send_to_another_address_anonymous_ones_may_not(ours_gsi, ours, proxy_env, monkeypatch,
                                                                          tmp_path) -> None:
    """Third party beyond loopback needs PORT to another host: allowed for a grid-mapped GSI identity (as GCT
    does), still refused as FTP bounce for anonymous sessions."""
    port, root, _ = ours_gsi
    for k in ("X509_CERT_DIR", "X509_USER_PROXY"):
        monkeypatch.setenv(k, proxy_env[k])
    (root / "tp.bin").write_bytes(b"to another address")
    elsewhere = socket.create_server(("127.0.0.2", 0))  # not the client's address (127.0.0.1)
    p = elsewhere.getsockname()[1]
    with Client("localhost", port, gsi=True, delegate=False) as c:  # DCAU N: a plain receiver
        c.command(f"PORT 127,0,0,2,{p >> 8},{p & 255}", 200)
        c._send("RETR /tp.bin")
        conn, _ = elsewhere.accept()
        got = b""
        while chunk := conn.recv(100):
            got += chunk
        c._final_reply("RETR", 226)
    assert got == b"to another address"
    anon_port, _, _ = ours
    with Client("127.0.0.1", anon_port) as a:
        with pytest.raises(ReplyError, match="FTP bounce refused; third-party transfers need a GSI login"):
            a.command(f"PORT 127,0,0,2,{p >> 8},{p & 255}", 200)
    elsewhere.close()


def test_a_long_proxy_chain_logs_in(ours_gsi, world, tmp_path, monkeypatch) -> None:
    """A proxy of a proxy of a proxy...: the client's certificate flight, in base64, is longer than any plain
    command line may be (ADAT lines have their own, larger limit)."""
    from wrapgen.gsi.proxy import create_proxy, write_proxy

    port, root, _ = ours_gsi
    cred = world.user
    for _ in range(5):
        cred = create_proxy(cred, 1)
    proxy = write_proxy(cred, tmp_path / "x509up_long")
    monkeypatch.setenv("X509_CERT_DIR", str(world.trust))
    (root / "f").write_bytes(b"chained")
    with Client("localhost", port, gsi=True, credential=proxy, delegate=False) as c:
        assert c.identity == f"{BASE}/CN=Jane Doe"
        c.get("/f", tmp_path / "f", parallel=1)
    assert (tmp_path / "f").read_bytes() == b"chained"


def test_gridftp_server_cli_gsi_options(world, tmp_path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-P", "-m", "wrapgen", "gridftp-server", "--root", str(tmp_path),
                               "--port", "0", *args], capture_output=True, text=True, timeout=60)

    r = cli("--host-cert", str(world.host_cert))
    assert r.returncode == 2 and "--host-cert, --host-key, --cert-dir and --gridmap need --gsi" in r.stderr
    r = cli("--gsi", "--host-cert", str(world.host_cert), "--host-key", str(world.host_key), "--cert-dir",
            str(world.trust), "--gridmap", str(tmp_path / "no-such-grid-mapfile"))
    assert r.returncode == 1 and f"GSI: grid-mapfile {tmp_path}/no-such-grid-mapfile does not exist" in r.stderr
    r = cli("--gsi", "--host-cert", str(world.host_cert), "--host-key", str(world.host_key), "--cert-dir",
            str(tmp_path / "nowhere"), "--gridmap", str(world.host_cert))
    assert r.returncode == 1 and "trust directory" in r.stderr and "does not exist" in r.stderr


def test_stray_connects_during_a_dcau_upload_do_not_abort_it(world, proxy_env, tmp_path) -> None:
    """A port scanner's connect-and-close on the data ports during a -p 4 DCAU A upload (issue 11, item 20):
    the stray connections are dropped and the transfer completes (it ended with 425 before)."""
    import socket
    import threading

    from wrapgen.gridftp.security import GSIConfig
    from wrapgen.gridftp.server import Server

    root = tmp_path / "root"
    root.mkdir()
    gridmap = tmp_path / "grid-mapfile"
    gridmap.write_text(f'"{BASE}/CN=Jane Doe" jane\n')
    low = 40000 + os.getpid() % 2000 * 10
    data = os.urandom(64 << 20)
    (tmp_path / "src.bin").write_bytes(data)
    stop = threading.Event()
    probes = [0]

    def scan() -> None:
        while not stop.is_set():
            for p in range(low, low + 10):
                try:
                    socket.create_connection(("127.0.0.1", p), timeout=0.2).close()
                    probes[0] += 1
                except OSError:
                    pass

    with Server(root, gsi=GSIConfig(world.host_cert, world.host_key, world.trust, gridmap),
                port_range=(low, low + 9)) as srv:
        t = threading.Thread(target=scan, daemon=True)
        t.start()
        try:
            for _ in range(3):
                r = guc(proxy_env, "-fast", "-p", "4", f"file://{tmp_path}/src.bin",
                        f"gsiftp://localhost:{srv.port}/up.bin")
                assert r.returncode == 0, r.stdout + r.stderr
                assert (root / "up.bin").read_bytes() == data
        finally:
            stop.set()
            t.join()
    assert probes[0] > 0  # the scanner did reach the data ports


def test_gsi_logins_and_delegation_in_worker_processes(world, proxy_env, tmp_path) -> None:
    from wrapgen.gridftp.security import GSIConfig
    from wrapgen.gridftp.server import Server

    root = tmp_path / "mp-root"
    root.mkdir()
    gridmap = tmp_path / "grid-mapfile-mp"
    gridmap.write_text(f'"{BASE}/CN=Jane Doe" jane\n')
    data = os.urandom(300_000)
    (tmp_path / "src.bin").write_bytes(data)
    with Server(root, gsi=GSIConfig(world.host_cert, world.host_key, world.trust, gridmap), processes=2) as srv:
        for i in range(2):  # two logins: one per worker (each delegates, DCAU A on the data channels)
            r = guc(proxy_env, "-p", "2", f"file://{tmp_path}/src.bin", f"gsiftp://localhost:{srv.port}/up{i}.bin")
            assert r.returncode == 0, r.stdout + r.stderr
            assert (root / f"up{i}.bin").read_bytes() == data
