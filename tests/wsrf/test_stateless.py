"""Stateless kernel operations: typed SOAP calls that agree with the local module, faults that name the
argument, WS-Addressing on every reply, and requests that must be refused without hurting the server."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import zeep
from lxml import etree

import wrapgen
from wrapgen.wsrf import ns as N

from .conftest import ROOT, post, soap

HEAT_TNS = "urn:wrapgen:heat"


def plate(n: int = 8) -> np.ndarray:
    u = np.zeros((n, n), order="F")
    u[0, :] = 100.0
    return u


def nd(a: np.ndarray) -> dict:
    order = "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"
    return {"dtype": a.dtype.name, "shape": list(a.shape), "order": order, "data": a.tobytes(order=order)}


def test_plain_zeep_from_the_wsdl_alone_agrees_with_the_local_module(server) -> None:
    client = zeep.Client(f"{server.url}/heat?wsdl")
    u = plate()
    out = client.service.heat_step(u=nd(u), alpha=1.0, dt=0.1, dx=1.0, nsteps=20)
    got = np.ndarray(tuple(out.shape), dtype="<f8", buffer=out.data, order=out.order)
    wrapgen.load(ROOT / "services" / "heat.yaml").heat_step(u, 1.0, 0.1, 1.0, 20)
    assert out.dtype == "float64" and out.order == "F"
    np.testing.assert_array_equal(got, u)
    assert got[1, 3] > 0  # heat flowed in from the hot edge


def test_connect_gives_the_same_module_interface(server) -> None:
    heat = wrapgen.connect(f"{server.url}/heat")
    local = wrapgen.load(ROOT / "services" / "heat.yaml")
    u_remote, u_local = plate(), plate()
    assert heat.heat_step(u_remote, 0.5, 0.1, 1.0, nsteps=7) is None  # inout: updated in place, nothing returned
    local.heat_step(u_local, 0.5, 0.1, 1.0, nsteps=7)
    np.testing.assert_array_equal(u_remote, u_local)


def test_the_c_md_kernel_is_served(server) -> None:
    md = wrapgen.connect(f"{server.url}/md")
    rng = np.random.default_rng(1)
    pos = np.ascontiguousarray(rng.uniform(0, 4, size=(20, 3)))
    forces, energy = md.lj_forces(pos, 1.0, 1.0)
    f_local, e_local = wrapgen.load(ROOT / "services" / "md.yaml").lj_forces(pos, 1.0, 1.0)
    np.testing.assert_array_equal(forces, f_local)
    assert energy == e_local
    assert forces.shape == (20, 3) and forces.dtype == np.float64
    with pytest.raises(md.CoincidentParticlesError, match="two particles share a position") as info:
        md.lj_forces(np.zeros((2, 3)), 1.0, 1.0)
    assert info.value.code == 1


def test_a_declared_error_class_is_one_class_locally_isolated_and_remotely(server) -> None:
    """An except clause written for the local module catches the same error from an isolated call and from
    the service: the spec's classes are one object per process (the remote one derives from it, carrying the
    fault's details)."""
    local = wrapgen.load(ROOT / "services" / "md.yaml")
    isolated = wrapgen.load(ROOT / "services" / "md.yaml", isolate=True)
    remote = wrapgen.connect(f"{server.url}/md")
    try:
        assert isolated.CoincidentParticlesError is local.CoincidentParticlesError
        for mod in (local, isolated, remote):
            with pytest.raises(local.CoincidentParticlesError, match="two particles share a position"):
                mod.lj_forces(np.zeros((2, 3)), 1.0, 1.0)
        assert issubclass(remote.CoincidentParticlesError, local.CoincidentParticlesError)
        assert issubclass(remote.CoincidentParticlesError, wrapgen.wsrf.RemoteFault)
    finally:
        isolated.close()


def test_declared_errors_are_faults_with_a_ws_basefault_detail(server) -> None:
    client = zeep.Client(f"{server.url}/heat?wsdl")
    with pytest.raises(zeep.exceptions.Fault) as info:
        client.service.heat_step(u=nd(plate()), alpha=1.0, dt=1.0, dx=1.0)
    f = info.value
    assert "unstable" in f.message and f.code == "soap:Client"
    fault = f.detail[0]
    assert fault.tag == f"{{{HEAT_TNS}}}KernelFault"
    assert fault.findtext(N.q(N.BF, "Timestamp")).endswith("Z")
    assert fault.find(N.q(N.BF, "ErrorCode")).get("dialect") and fault.findtext(N.q(N.BF, "ErrorCode")) == "1"
    assert "unstable" in fault.findtext(N.q(N.BF, "Description"))
    assert fault.findtext(f"{{{HEAT_TNS}}}Exception") == "UnstableStepError"


def test_range_and_dtype_refusals_name_the_argument(server) -> None:
    heat = wrapgen.connect(f"{server.url}/heat")
    with pytest.raises(ValueError, match=r"argument 'alpha' = -1.0 is outside \[0, inf\]"):
        heat.heat_step(plate(), -1.0, 0.1, 1.0)
    u32 = plate().astype(np.float32)
    with pytest.raises(wrapgen.wsrf.RemoteFault, match=r"argument 'u': expected an NDArray of dtype float64, got "
                                                        r"float32 \(no silent conversion\)"):
        heat.heat_step(u32, 1.0, 0.1, 1.0)
    with pytest.raises(TypeError, match="missing argument"):
        heat.heat_step(plate(), 1.0)


def _raw_heat(u_xml: str, extra: str = "") -> bytes:
    return (f'<soap:Envelope xmlns:soap="{N.SOAP_ENV}"><soap:Body><h:heat_step xmlns:h="{HEAT_TNS}">{u_xml}'
            f"<h:alpha>1.0</h:alpha><h:dt>0.1</h:dt><h:dx>1.0</h:dx>{extra}</h:heat_step></soap:Body>"
            f"</soap:Envelope>").encode()


def _fault(data: bytes) -> str:
    env = etree.fromstring(data)
    return env.find(f".//{{{N.SOAP_ENV}}}Fault").findtext("faultstring")


@pytest.mark.parametrize("u_xml, expected", [
    ("<h:u><h:dtype>float64</h:dtype><h:shape>3</h:shape><h:shape>3</h:shape><h:order>F</h:order>"
     f"<h:data>{base64.b64encode(bytes(71)).decode()}</h:data></h:u>",
     r"argument 'u': NDArray data has 71 bytes, expected 72 for shape \(3, 3\) float64; nothing was truncated"),
    ("<h:u><h:dtype>float64</h:dtype><h:shape>2</h:shape><h:shape>2</h:shape><h:order>F</h:order>"
     "<h:data>not*base64</h:data></h:u>", r"argument 'u': NDArray data is not valid base64"),
    ("<h:u><h:dtype>float128</h:dtype><h:shape>1</h:shape></h:u>", r"argument 'u': NDArray dtype 'float128' is not"),
    ("<h:u><h:dtype>float64</h:dtype><h:shape>-2</h:shape></h:u>", r"argument 'u': NDArray shape entry -2 is negative"),
    ("<h:u><h:dtype>float64</h:dtype><h:shape>1</h:shape><h:order>X</h:order><h:data>AAAAAAAAAAA=</h:data></h:u>",
     r"argument 'u': NDArray order must be C or F, got 'X'"),
    ("", r"heat_step: missing argument 'u' \(float64 array\)"),
])
def test_malformed_arrays_are_refused_never_truncated(server, u_xml, expected) -> None:
    status, data = post(f"{server.url}/heat", _raw_heat(u_xml))
    assert status == 500
    assert __import__("re").search(expected, _fault(data)), _fault(data)


def test_scalars_that_do_not_parse_name_the_argument(server) -> None:
    body = _raw_heat(f"<h:u><h:dtype>float64</h:dtype><h:shape>3</h:shape><h:shape>3</h:shape><h:order>F</h:order>"
                     f"<h:data>{base64.b64encode(bytes(72)).decode()}</h:data></h:u>").replace(
        b"<h:alpha>1.0</h:alpha>", b"<h:alpha>one</h:alpha>")
    status, data = post(f"{server.url}/heat", body)
    assert status == 500 and "argument 'alpha': 'one' is not a valid xs:double" in _fault(data)
    status, data = post(f"{server.url}/heat", _raw_heat("", "<h:bogus>1</h:bogus>"))
    assert status == 500 and "unexpected element <{urn:wrapgen:heat}bogus>" in _fault(data)


@pytest.mark.parametrize("body, expected", [
    (b"this is not XML", "not well-formed XML"),
    (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><e>&x;</e></soap:Body>'
     b"</soap:Envelope>", "document type declaration"),
    (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
     b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
     b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><l>&d;</l></soap:Body>'
     b"</soap:Envelope>", "document type declaration"),
    (b"<a/>", "expected a SOAP 1.1 Envelope"),
    (b"<a>" * 300 + b"</a>" * 300, "Excessive depth in document: 256"),
    (b"<a>" + b"A" * 11_000_000 + b"</a>", "only NDArray data may exceed 10000000"),
    (b"<a><data>" + b"A" * 11_000_000 + b"</data>" + b"<b>" * 300 + b"</b>" * 300 + b"</a>",
     "nested deeper than 256"),
    (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>',
     "must hold exactly one element"),
    (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x:nope xmlns:x="urn:q"/>'
     b"</soap:Body></soap:Envelope>", "unknown operation"),
])
def test_hostile_or_broken_requests_get_client_faults(server, body, expected) -> None:
    status, data = post(f"{server.url}/heat", body)
    assert status == 500, data
    assert expected in _fault(data)
    assert b"root:" not in data  # no file content leaked through an entity
    test_connect_gives_the_same_module_interface(server)  # and the server still serves


def test_replies_carry_ws_addressing(server) -> None:
    u = plate(3)
    body = etree.fromstring(_raw_heat(
        f"<h:u><h:dtype>float64</h:dtype><h:shape>3</h:shape><h:shape>3</h:shape><h:order>F</h:order>"
        f"<h:data>{base64.b64encode(u.tobytes(order='F')).decode()}</h:data></h:u>"))[0][0]
    msg_id = "urn:uuid:1234"
    status, env = soap(f"{server.url}/heat", body, "urn:wrapgen:heat/heatPortType/heat_stepRequest",
                       message_id=msg_id)
    assert status == 200
    assert env.findtext(f".//{{{N.WSA}}}RelatesTo") == msg_id
    assert env.findtext(f".//{{{N.WSA}}}Action") == "urn:wrapgen:heat/heatPortType/heat_stepResponse"
    assert env.findtext(f".//{{{N.WSA}}}MessageID").startswith("urn:uuid:")


def test_unknown_paths_and_methods(server) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{server.url}/nosuch?wsdl")
    assert info.value.code == 404 and b"served: /heat, /md, /misbehave" in info.value.read()
    status, data = post(f"{server.url}/heat/nosuch", b"<x/>")
    assert status == 404
    index = urllib.request.urlopen(f"{server.url}/").read().decode()
    assert f"{server.url}/heat?wsdl" in index and "lj_forces" in index


def test_requests_over_the_size_cap_are_refused_before_parsing(tmp_path) -> None:
    import http.client

    from wrapgen.wsrf import Server

    with Server([ROOT / "services" / "heat.yaml"], state=tmp_path / "s.db", workers=1, max_request=4096) as srv:
        big = _raw_heat("<h:u>" + "x" * 8000 + "</h:u>")
        status, data = post(f"{srv.url}/heat", big)
        assert status == 413 and f"has {len(big)} bytes, over this server's limit of 4096 bytes" in _fault(data)
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)  # no Content-Length: chunked
        c.request("POST", "/heat", body=iter([big[:3000], big[3000:]]), encode_chunked=True,
                  headers={"Content-Type": "text/xml"})
        r = c.getresponse()
        assert r.status == 413 and "over this server's limit of 4096 bytes" in _fault(r.read())
        u = plate(4)
        wrapgen.connect(f"{srv.url}/heat").heat_step(u, 1.0, 0.1, 1.0)  # small requests still pass
        assert u[1, 1] > 0


def test_a_library_with_nothing_servable_says_why(tmp_path) -> None:
    from wrapgen.wsrf.errors import WSRFError
    from wrapgen.wsrf.model import service_model

    spec = tmp_path / "cb.yaml"
    spec.write_text((ROOT / "services" / "ode.yaml").read_text().replace("../legacy", str(ROOT / "legacy")))
    with pytest.raises(WSRFError, match=r"nothing of library 'ode' can be served: rk4: argument 'f' has dtype "
                                        r"callback, which cannot travel over SOAP"):
        service_model(spec)
