"""A bounded fuzz of SOAP requests (seconds, a fixed seed): regression guard for issue 11. Mutated requests get
an HTTP answer that is a SOAP fault (or a 4xx for what is not SOAP), never 'internal error' nor a traceback,
and the service keeps serving."""

from __future__ import annotations

import base64
import random
import socket

import numpy as np
from lxml import etree

from wrapgen.wsrf import Server

from .conftest import ROOT

HEAT = ROOT / "services" / "heat.yaml"


def _valid() -> bytes:
    u = np.zeros((4, 4), order="F")
    return (f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:wsa="http://www.w3.org/2005/08/addressing"><soap:Header><wsa:Action>urn:x</wsa:Action>'
            f'<wsa:MessageID>urn:uuid:1</wsa:MessageID></soap:Header><soap:Body><h:heat_step xmlns:h="urn:wrapgen:heat">'
            f'<h:u><h:dtype>float64</h:dtype><h:shape>4</h:shape><h:shape>4</h:shape><h:order>F</h:order>'
            f'<h:data>{base64.b64encode(u.tobytes(order="F")).decode()}</h:data></h:u><h:alpha>1.0</h:alpha>'
            f'<h:dt>0.1</h:dt><h:dx>1.0</h:dx><h:nsteps>2</h:nsteps></h:heat_step></soap:Body></soap:Envelope>').encode()


SNIPPETS = [b"<", b">", b"&", b"&amp;", b"]]>", b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"<?xml version='1.0'?>", b"\0",
            b"\xff\xfe", b"-1", b"1e400", b"nan", b"99999999999999999999", b"C", b"F", b"int8", b"<h:shape>0</h:shape>",
            b"<h:bogus/>", b"</h:u>", b"xsi:nil='true'", b"<wsa:To>http://169.254.169.254/</wsa:To>", b" " * 100]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        at = rng.randrange(len(b) + 1)
        if kind < 0.3 and b:
            b[min(at, len(b) - 1)] = rng.randrange(256)
        elif kind < 0.55:
            b[at:at] = rng.choice(SNIPPETS)
        elif kind < 0.8 and b:
            end = min(len(b), at + rng.randint(1, 40))
            del b[at:end]
        else:
            src = rng.randrange(len(b) or 1)
            b[at:at] = b[src:src + rng.randint(1, 60)]
    return bytes(b)


def _post(port: int, body: bytes, ctype: str = "text/xml; charset=utf-8") -> tuple[int, bytes]:
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(f"POST /heat HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
              f"Connection: close\r\n\r\n".encode() + body)
    out = b""
    while chunk := s.recv(65536):
        out += chunk
    s.close()
    head, _, payload = out.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload


def test_mutated_requests_get_faults_and_the_service_goes_on(tmp_path) -> None:
    log = tmp_path / "server.log"
    rng = random.Random(11)
    valid = _valid()
    with Server([HEAT], state=tmp_path / "s.db", workers=1, threads=4, log_file=str(log)) as srv:
        assert _post(srv.port, valid)[0] == 200
        for _ in range(300):
            status, payload = _post(srv.port, _mutate(rng, valid))
            assert status in (200, 400, 413, 415, 500), status
            if status == 500:
                fault = etree.fromstring(payload).find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
                assert fault is not None, payload[:300]
                assert not (fault.findtext("faultstring") or "").startswith("internal error"), payload[:600]
        assert _post(srv.port, valid)[0] == 200
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
