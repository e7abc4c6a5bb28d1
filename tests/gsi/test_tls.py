"""GSI TLS contexts: a proxy-presenting client and a host-certificate server, the peer's grid identity, and
GSI host-name checks; and a WS-RF service that authorizes callers by grid-mapfile."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import numpy as np
import pytest

import wrapgen
from wrapgen.gsi import GSIError
from wrapgen.gsi.ca import make_request
from wrapgen.gsi.pem import load_certs
from wrapgen.gsi.proxy import create_proxy, load_credential, write_proxy
from wrapgen.gsi.tls import check_host, client_context, peer_identity, server_context

from .conftest import BASE, issue

ROOT = Path(__file__).resolve().parents[2]


def handshake(world, client_ctx: ssl.SSLContext) -> tuple[str, ssl.SSLSocket]:
    srv_ctx = server_context(world.host_cert, world.host_key, world.trust)
    listener = socket.create_server(("127.0.0.1", 0))
    result: dict = {}

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with srv_ctx.wrap_socket(conn, server_side=True) as s:
                result["identity"] = peer_identity(s, world.trust).identity
                s.sendall(b"ok")
        except Exception as exc:  # reported to the test below
            result["error"] = exc

    t = threading.Thread(target=serve)
    t.start()
    raw = socket.create_connection(listener.getsockname())
    s = client_ctx.wrap_socket(raw, server_hostname="localhost")
    s.recv(2)
    t.join(10)
    listener.close()
    if "error" in result:
        raise result["error"]
    return result["identity"], s


def test_a_proxy_client_and_a_host_server(world, tmp_path) -> None:
    proxy = write_proxy(create_proxy(create_proxy(world.user, 1), 1), tmp_path / "x509up")  # proxy of a proxy
    identity, s = handshake(world, client_context(proxy, world.trust))
    with s:
        assert identity == f"{BASE}/CN=Jane Doe"
        server_cert = load_certs(world.host_cert)[0]
        check_host(server_cert, "localhost")
        check_host(server_cert, "127.0.0.1")
        with pytest.raises(GSIError, match=r"is not for 'example.org' \(subjectAltName"):
            check_host(server_cert, "example.org")


def test_a_legacy_host_certificate_without_subjectaltname(world) -> None:
    legacy = issue(world.ca, f"{BASE}/CN=host/node7.example.org")
    check_host(legacy.cert, "node7.example.org")
    with pytest.raises(GSIError, match="its CN is not host/node8.example.org"):
        check_host(legacy.cert, "node8.example.org")


def test_the_server_refuses_an_untrusted_client(world, tmp_path) -> None:
    from wrapgen.gsi.ca import init_ca

    other = init_ca(tmp_path / "other", f"{BASE}/CN=Other CA")
    key, req = make_request(f"{BASE}/CN=Stranger", tmp_path, "user")
    other.sign_file(req, tmp_path / "usercert.pem")
    stranger = write_proxy(create_proxy(load_credential(tmp_path / "usercert.pem", key), 1), tmp_path / "x509up")
    with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
        handshake(world, client_context(stranger, world.trust))


def test_a_service_that_authorizes_by_grid_mapfile(world, tmp_path) -> None:
    from wrapgen.wsrf import RemoteFault, Server, WSRFError

    gridmap = tmp_path / "grid-mapfile"
    gridmap.write_text(f'"{BASE}/CN=Jane Doe" jane\n')
    jane = write_proxy(create_proxy(world.user, 1), tmp_path / "jane")
    key, req = make_request(f"{BASE}/CN=Joe Outsider", tmp_path / "joe", "user")
    world.ca.sign_file(req, tmp_path / "joe" / "usercert.pem")
    joe = write_proxy(create_proxy(load_credential(tmp_path / "joe" / "usercert.pem", key), 1), tmp_path / "joe.pem")
    with Server([ROOT / "services" / "heat.yaml"], state=tmp_path / "s.db", workers=1, tls_cert=str(world.host_cert),
                tls_key=str(world.host_key), tls_ca=str(world.trust), gridmap=str(gridmap)) as srv:
        heat = wrapgen.connect(f"{srv.url}/heat", cert=str(jane), verify=str(world.ca.dir / "cacert.pem"))
        u = np.zeros((5, 5), order="F")
        u[0, :] = 1
        heat.heat_step(u, 1.0, 0.1, 1.0)
        assert u[1, 2] > 0
        with pytest.raises(WSRFError, match=rf"HTTP 403: not authorized: {BASE}/CN=Joe Outsider is not in the server's grid-mapfile"):
            wrapgen.connect(f"{srv.url}/heat", cert=str(joe), verify=str(world.ca.dir / "cacert.pem"))
        gridmap.write_text(f'"{BASE}/CN=Jane Doe" jane\n"{BASE}/CN=Joe Outsider" joe\n')  # picked up at once
        joe_heat = wrapgen.connect(f"{srv.url}/heat", cert=str(joe), verify=str(world.ca.dir / "cacert.pem"))
        joe_heat.heat_step(u, 1.0, 0.1, 1.0)
        gridmap.write_text(f'"{BASE}/CN=Jane Doe" jane\n')
        with pytest.raises(RemoteFault, match=rf"not authorized: {BASE}/CN=Joe Outsider is not in the server's grid-mapfile"):
            joe_heat.heat_step(u, 1.0, 0.1, 1.0)
    with pytest.raises(WSRFError, match="a grid-mapfile needs HTTPS"):
        Server([ROOT / "services" / "heat.yaml"], state=tmp_path / "s2.db", gridmap=str(gridmap))


def test_every_resource_belongs_to_its_creator(world, tmp_path) -> None:
    """Issue 11, item 9: with HTTPS and a grid-mapfile, another mapped user can neither read, start, destroy,
    subscribe to nor fetch the downloads of Jane's resource; an admin identity may; Jane may."""
    from wrapgen.wsrf import RemoteFault, Server
    from wrapgen.wsrf.client import Resource, make_session

    users = {}
    for name in ("Bob Other", "Carol Admin"):
        d = tmp_path / name.split()[0]
        key, req = make_request(f"{BASE}/CN={name}", d, "user")
        world.ca.sign_file(req, d / "usercert.pem")
        users[name] = write_proxy(create_proxy(load_credential(d / "usercert.pem", key), 1), d / "x509up")
    jane = write_proxy(create_proxy(world.user, 1), tmp_path / "jane")
    gridmap = tmp_path / "grid-mapfile"
    gridmap.write_text(f'"{BASE}/CN=Jane Doe" jane\n"{BASE}/CN=Bob Other" bob\n"{BASE}/CN=Carol Admin" carol\n')
    ca = str(world.ca.dir / "cacert.pem")
    with Server([ROOT / "services" / "heat.yaml"], state=tmp_path / "s.db", workers=1, tls_cert=str(world.host_cert),
                tls_key=str(world.host_key), tls_ca=str(world.trust), gridmap=str(gridmap), inline_limit=100,
                admins=[f"{BASE}/CN=Carol Admin"]) as srv:
        heat = wrapgen.connect(f"{srv.url}/heat", cert=str(jane), verify=ca)
        res = heat.heat_step.create(u=np.zeros((5, 5), order="F"), alpha=1.0, dt=0.1, dx=1.0)

        def as_user(who: str) -> Resource:
            return Resource(res.address, res.key, res.tns, "heat_step", session=make_session(str(users[who]), ca))

        bob = as_user("Bob Other")
        for attempt in (lambda: bob.status, bob.start, bob.destroy, lambda: bob.subscribe(topics=("Status",))):
            with pytest.raises(RemoteFault, match="access denied: this heat_step resource belongs to another identity"):
                attempt()
        assert as_user("Carol Admin").status == "Created"  # the admin may
        res.start()
        assert res.wait(60) == "Succeeded"  # and Jane may
        res.destroy()
        # a stateless call's large result: Jane's download, not Bob's; handed out once
        u = np.zeros((8, 8), order="F")
        u[0, :] = 1
        url = f"{srv.url}/heat"
        session = make_session(str(jane), ca)
        body = (f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
                f'<h:heat_step xmlns:h="urn:wrapgen:heat"><h:u><h:dtype>float64</h:dtype><h:shape>8</h:shape>'
                f'<h:shape>8</h:shape><h:order>F</h:order><h:data>{__import__("base64").b64encode(u.tobytes(order="F")).decode()}'
                f'</h:data></h:u><h:alpha>1.0</h:alpha><h:dt>0.1</h:dt><h:dx>1.0</h:dx></h:heat_step></soap:Body>'
                f'</soap:Envelope>')
        r = session.post(url, data=body, headers={"Content-Type": "text/xml"})
        assert r.status_code == 200, r.text
        import re

        (href,) = re.findall(r"https://[^<\"]+/blob/[A-Za-z0-9_-]+", r.text)
        assert make_session(str(users["Bob Other"]), ca).get(href).status_code == 403
        assert session.get(href).status_code == 200
        assert session.get(href).status_code == 404  # fetched: its space is free again
