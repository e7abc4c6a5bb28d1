"""The editor's server, attacked: no token or a wrong one, a foreign Host (DNS rebinding), bodies too large or not
JSON, paths out of its static folder, slow clients, too many event streams; and the errors a user meets -- a run
of a file that does not check, a WSDL that cannot be fetched or parsed, a NaN parameter -- said plainly."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wrapgen.web.api import Editor
from wrapgen.web.palette import service_types
from wrapgen.web.errors import EditorError
from wrapgen.web.server import MAX_SUBSCRIBERS, EditorServer

from .conftest import write

CHAIN = "pipeline: c\nsteps:\n  a: {compute: 'tally.yaml#tally', params: {i: 1, x: .nan}}\n"


@pytest.fixture
def server(workdir):
    p = write(workdir / "p.yaml", CHAIN)
    with EditorServer(Editor(p)) as srv:
        yield srv


def request(srv, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            token: bool = True) -> tuple[int, bytes]:
    h = {"Host": f"127.0.0.1:{srv.port}", **({"X-Wrapgen-Token": srv.token} if token else {}), **(headers or {})}
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def test_every_api_call_needs_the_token(server) -> None:
    assert request(server, "GET", "/api/document", token=False)[0] == 403
    status, body = request(server, "GET", "/api/document", headers={"X-Wrapgen-Token": "guess"})
    assert status == 403 and b"wrong editor token" in body
    assert request(server, "POST", "/api/run", b"{}", {"Content-Type": "application/json"}, token=False)[0] == 403
    assert request(server, "GET", f"/api/palette?token={server.token}", token=False)[0] == 200
    assert request(server, "GET", "/", token=False)[0] == 200  # the page itself holds nothing


def test_a_foreign_host_header_is_refused(server) -> None:
    status, body = request(server, "GET", "/api/document", headers={"Host": f"evil.example:{server.port}"})
    assert status == 403 and b"not this editor's address" in body


def test_bodies_must_be_small_json_objects(server) -> None:
    status, body = request(server, "POST", "/api/save", b"yaml: x", {"Content-Type": "text/plain"})
    assert status == 400 and b"application/json" in body
    status, body = request(server, "POST", "/api/save", b"[1]", {"Content-Type": "application/json"})
    assert status == 400 and b"JSON object" in body
    status, body = request(server, "POST", "/api/save", b"{nope", {"Content-Type": "application/json"})
    assert status == 400 and b"not JSON" in body
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:  # a huge length is not read
        s.sendall(f"POST /api/save HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nX-Wrapgen-Token: {server.token}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {1 << 40}\r\n\r\n".encode())
        assert b"400" in s.recv(4096).split(b"\r\n")[0]


def test_nothing_outside_the_static_folder_is_served(server) -> None:
    for path in ("/static/../api.py", "/static/%2e%2e/api.py", "/static//etc/passwd", "/../../etc/passwd",
                 "/static/vendor/../../server.py"):
        assert request(server, "GET", path)[0] == 404, path
    assert request(server, "GET", "/static/ports.js")[0] == 200


def test_slow_clients_do_not_starve_the_others(server) -> None:
    socks = []
    for _ in range(40):  # each sends half a request line and stops
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(b"GET /api/docu")
        socks.append(s)
    try:
        assert request(server, "GET", "/api/palette")[0] == 200
    finally:
        for s in socks:
            s.close()


def test_event_streams_are_limited(server) -> None:
    conns = []
    try:
        for _ in range(MAX_SUBSCRIBERS):
            c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            c.request("GET", f"/api/events?token={server.token}", headers={"Host": f"127.0.0.1:{server.port}"})
            r = c.getresponse()
            assert r.status == 200 and r.readline().startswith(b"data: ")  # the whole state first
            conns.append(c)
        status, body = request(server, "GET", "/api/events")
        assert status == 503 and b"at most" in body
    finally:
        for c in conns:
            c.close()


def test_a_nan_parameter_survives_the_page(server) -> None:
    status, body = request(server, "GET", "/api/document")
    doc = json.loads(body)  # strict JSON: NaN would break the page
    [a] = doc["graph"]["nodes"]
    assert a["fields"]["params"]["x"] == {"$float": "nan"}
    status, body = request(server, "POST", "/api/save", json.dumps({"graph": doc["graph"]}).encode(),
                           {"Content-Type": "application/json"})
    assert status == 200 and "x: .nan" in json.loads(body)["yaml"]


def test_a_run_of_a_file_that_does_not_check_is_refused_with_the_clis_message(workdir) -> None:
    p = write(workdir / "p.yaml", "pipeline: c\nsteps:\n  a: {compute: 'tally.yaml#tally', params: {j: 1}}\n")
    with EditorServer(Editor(p)) as srv:
        status, body = request(srv, "POST", "/api/run", b"{}", {"Content-Type": "application/json"})
        assert status == 400
        err = json.loads(body)["error"]
        assert "p.yaml:3:" in err and "takes no argument 'j'" in err


class _Static(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


def _serve(body: bytes):
    handler = type("H", (_Static,), {"body": body})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


THIRD_PARTY = b"""<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:weather" targetNamespace="urn:weather">
 <types><xs:schema targetNamespace="urn:weather" elementFormDefault="qualified">
  <xs:complexType name="Station"><xs:sequence>
    <xs:element name="id" type="xs:string"/>
    <xs:element name="where"><xs:complexType><xs:sequence>
      <xs:element name="lat" type="xs:double"/><xs:element name="lon" type="xs:double"/>
    </xs:sequence></xs:complexType></xs:element>
  </xs:sequence></xs:complexType>
  <xs:element name="Forecast"><xs:complexType><xs:sequence>
    <xs:element name="station" type="tns:Station"/><xs:element name="days" type="xs:int"/>
  </xs:sequence></xs:complexType></xs:element>
  <xs:element name="ForecastResponse"><xs:complexType><xs:sequence>
    <xs:element name="celsius" type="xs:double"/>
  </xs:sequence></xs:complexType></xs:element>
 </xs:schema></types>
 <message name="ForecastIn"><part name="parameters" element="tns:Forecast"/></message>
 <message name="ForecastOut"><part name="parameters" element="tns:ForecastResponse"/></message>
 <portType name="WeatherPort"><operation name="Forecast"><input message="tns:ForecastIn"/>
   <output message="tns:ForecastOut"/></operation></portType>
 <binding name="WeatherBinding" type="tns:WeatherPort"><soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>
  <operation name="Forecast"><soap:operation soapAction="urn:Forecast"/><input><soap:body use="literal"/></input>
   <output><soap:body use="literal"/></output></operation></binding>
 <service name="Weather"><port name="WeatherPort" binding="tns:WeatherBinding">
   <soap:address location="http://127.0.0.1:1/weather"/></port></service>
</definitions>"""


def test_a_third_party_wsdl_keeps_its_complex_types_structured() -> None:
    httpd = _serve(THIRD_PARTY)
    try:
        [t] = service_types(f"http://127.0.0.1:{httpd.server_address[1]}/weather")
    finally:
        httpd.shutdown()
    assert t["title"] == "Forecast" and t["kind"] == "call"
    station, days = t["inputs"]
    assert days == {"name": "days", "type": "int32", "required": True, "doc": ""}
    assert station["fields"] == [{"name": "id", "type": "string"}, {"name": "where", "type": "*", "fields": [
        {"name": "lat", "type": "float64"}, {"name": "lon", "type": "float64"}]}]
    assert t["outputs"] == [{"name": "celsius", "type": "float64"}]
    assert [p["name"] for p in t["params"]] == ["days"]  # a structured input is a port, not a form field


def test_a_wsdl_that_cannot_be_had_or_read_says_why() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    with pytest.raises(EditorError, match="cannot fetch the WSDL"):
        service_types(f"http://127.0.0.1:{dead}/x")
    httpd = _serve(b"<html>not a wsdl</html>")
    try:
        with pytest.raises(EditorError, match="the WSDL cannot be parsed"):
            service_types(f"http://127.0.0.1:{httpd.server_address[1]}/x")
    finally:
        httpd.shutdown()
    httpd = _serve(b"<x>" + b" " * (9 << 20) + b"</x>")
    try:
        with pytest.raises(EditorError, match="larger than 8 MiB"):
            service_types(f"http://127.0.0.1:{httpd.server_address[1]}/x")
    finally:
        httpd.shutdown()


def test_a_yaml_alias_bomb_is_refused_not_expanded(server) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    before = server.editor.text()
    status, body = request(server, "POST", "/api/save", json.dumps({"yaml": bomb}).encode(),
                           {"Content-Type": "application/json"})
    assert status == 400 and b"alias bomb" in body
    assert server.editor.text() == before  # nothing written


def test_the_last_runs_report_is_one_request_away(workdir, tally) -> None:
    p = write(workdir / "p.yaml", "pipeline: c\nsteps:\n  a: {compute: 'tally.yaml#tally', params: {i: 1}}\n")
    with EditorServer(Editor(p)) as srv:
        status, body = request(srv, "GET", "/api/report.png")
        assert status == 400 and b"has not run yet" in body
        srv.editor.run()
        srv.editor._thread.join(120)
        status, body = request(srv, "GET", "/api/report.png")
        assert status == 200 and body[:8] == b"\x89PNG\r\n\x1a\n"
        assert tally.counts() == {1: 1}


def test_a_second_run_while_one_runs_is_refused_and_a_service_must_be_http(workdir, tally) -> None:
    p = write(workdir / "p.yaml", "pipeline: c\nsteps:\n  a: {compute: 'tally.yaml#tally', params: {i: 1, ms: 1500}}\n")
    with EditorServer(Editor(p)) as srv:
        assert request(srv, "POST", "/api/run", b"{}", {"Content-Type": "application/json"})[0] == 200
        status, body = request(srv, "POST", "/api/run", b"{}", {"Content-Type": "application/json"})
        assert status == 400 and b"a run is in progress" in body
        srv.editor._thread.join(120)
        assert tally.counts() == {1: 1}
        for url in ("file:///etc/passwd", "gsiftp://127.0.0.1/x", 7):
            status, body = request(srv, "POST", "/api/services", json.dumps({"url": url}).encode(),
                                   {"Content-Type": "application/json"})
            assert status == 400 and (b"http(s)://" in body), body


@pytest.mark.parametrize("graph, words", [
    ({"nodes": {"a": 1}}, "nodes and links must be lists"),
    ({"nodes": [7]}, "nodes[0]: each node needs a string id"),
    ({"nodes": [{"id": "a", "fields": [1]}]}, "nodes[0] (a): fields must be an object"),
    ({"nodes": [{"id": "a", "pos": ["x", 1]}]}, "nodes[0] (a): pos must be [x, y], two numbers"),
    ({"nodes": [{"id": "a"}], "links": [{"from": "a", "to": "a"}]}, "links[0]: a link names from, output, to and "
                                                                   "input as strings"),
    ({"nodes": [{"id": "a"}], "links": [{"from": "a", "output": "o", "to": "b", "input": "i"}]},
     "links[0]: it goes to 'b', which is not a node"),
])
def test_a_malformed_graph_is_refused_naming_the_item(server, graph, words) -> None:
    before = server.editor.text()
    status, body = request(server, "POST", "/api/save", json.dumps({"graph": graph}).encode(),
                           {"Content-Type": "application/json"})
    assert status == 400 and words in json.loads(body)["error"]
    assert server.editor.text() == before


def test_run_requests_that_cannot_be_served_say_why(server) -> None:
    for body, words in (({"rerun": "nope"}, "no step 'nope'"), ({"failed_of": "a"}, "step a has no failed point"),
                        ({"rerun": 3}, "rerun and failed_of name a step")):
        status, answer = request(server, "POST", "/api/run", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
        assert status == 400 and words in json.loads(answer)["error"], answer
    status, answer = request(server, "POST", "/api/cancel", b"{}", {"Content-Type": "application/json"})
    assert status == 400 and b"no run is in progress" in answer


def test_a_page_that_stops_reading_is_dropped_not_buffered_forever(workdir, monkeypatch) -> None:
    from wrapgen.web import api

    monkeypatch.setattr(api, "MAX_BACKLOG", 5)
    editor = Editor(write(workdir / "p.yaml", CHAIN))
    stalled, live = editor.subscribe(), editor.subscribe()
    for i in range(8):
        editor._push({"message": str(i)})
        live.get()
    assert editor._subscribers == [live]  # the stalled one is gone; the one that reads stays
    got = [stalled.get() for _ in range(stalled.qsize())]
    assert len(got) == 6 and got[-1] == {"overflow": True}  # the whole state, 4 deltas, then the end of its stream
    editor.stop()
