"""GSI's GSS-API mechanism between wrapgen's initiator and acceptor, in memory: TLS 1.2 and 1.3 (the extra
keep-in-step token), with and without delegation, SSL-compatible mode, message protection, and a forged
token."""

from __future__ import annotations

import ssl

import pytest

from wrapgen.gsi import gss
from wrapgen.gsi.errors import GSIError
from wrapgen.gsi.proxy import create_proxy, identity, write_proxy
from wrapgen.gsi.tls import client_context, server_context

from .conftest import BASE


def exchange(init: gss.Initiator, acc: gss.Acceptor) -> int:
    """Run the token ping-pong as ADAT would; returns the number of initiator tokens."""
    token, rounds = init.step(None), 1
    while True:
        reply = acc.step(token)
        if init.complete and acc.complete:
            return rounds
        token = init.step(reply)
        if init.complete and acc.complete and not token:  # TLS 1.2: the acceptor's Finished was the last word
            return rounds
        rounds += 1
        assert rounds < 10


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
@pytest.mark.parametrize("mode", ["delegate", "no-delegation", "ssl-compatible"])
def test_initiator_and_acceptor(world, tmp_path, version, mode) -> None:
    proxy = write_proxy(create_proxy(world.user, 1), tmp_path / "x509up")
    client = client_context(proxy, world.trust)
    client.maximum_version = version
    init = gss.Initiator(client, "localhost", delegate=create_proxy(world.user, 1) if mode == "delegate" else None,
                         ssl_compatible=mode == "ssl-compatible")
    acc = gss.Acceptor(server_context(world.host_cert, world.host_key, world.trust),
                       ssl_compatible=mode == "ssl-compatible")
    rounds = exchange(init, acc)
    assert init.version == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
    # ClientHello, the client's flight, then the flag (TLS 1.3 after the acceptor's zero byte), then the cert
    assert rounds == {"delegate": 4, "no-delegation": 3, "ssl-compatible": 2}[mode]
    assert identity(acc.peer_chain) == f"{BASE}/CN=Jane Doe"  # the acceptor knows who the initiator is
    assert identity(init.peer_chain) == f"{BASE}/CN=localhost"  # and the initiator the host
    if mode == "delegate":
        assert acc.delegated is not None and acc.delegated.identity == f"{BASE}/CN=Jane Doe"
    else:
        assert acc.delegated is None
    assert acc.unwrap(init.wrap(b"ENC payload")) == b"ENC payload"
    assert init.unwrap(acc.wrap(b"632 reply")) == b"632 reply"
    with pytest.raises(GSIError, match="a protected message could not be read"):
        acc.unwrap(b"\x17\x03\x03\x00\x05forge")


def test_a_peer_from_an_untrusted_ca_fails_with_openssl_s_reason(world, tmp_path) -> None:
    from wrapgen.gsi.ca import init_ca

    from .conftest import issue

    rogue = issue(init_ca(tmp_path / "rogue", "/O=Rogue/CN=Rogue CA"), f"{BASE}/CN=Jane Doe")
    path = write_proxy(create_proxy(rogue, 1), tmp_path / "rogue.pem")
    init = gss.Initiator(client_context(path, world.trust), "localhost")
    acc = gss.Acceptor(server_context(world.host_cert, world.host_key, world.trust))
    with pytest.raises(GSIError, match="the peer's certificate chain was refused: unable to get local issuer"):
        exchange(init, acc)
