"""A real WS-RF server (gunicorn workers on 127.0.0.1, a free port) serving shipped specs and a misbehaving kernel."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from wrapgen.wsrf.envelope import envelope, parse_xml, serialize
from wrapgen.wsrf.server import Server

ROOT = Path(__file__).resolve().parents[2]
SPECS = [ROOT / "services" / "heat.yaml", ROOT / "services" / "md.yaml",
         ROOT / "tests" / "bind" / "kernels" / "misbehave.yaml"]


@pytest.fixture(scope="package")
def server(tmp_path_factory):
    state = tmp_path_factory.mktemp("wsrf") / "state.db"
    # notify_allow: the tests' notification consumers listen on 127.0.0.1, which is refused by default
    with Server(SPECS, state=state, workers=2, sweep_interval=0.2, query_timeout=1.0, notify_allow=["127.0.0.0/8"],
                log_file=str(state.with_suffix(".log"))) as srv:
        yield srv


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """POST raw bytes; (HTTP status, response body) whatever the status."""
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "text/xml; charset=utf-8", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def soap(url: str, body, action: str = "urn:x", headers=(), message_id: str | None = None) -> tuple[int, object]:
    """POST an envelope around body (an lxml element); (status, parsed response envelope)."""
    env = envelope(body, action, extra_headers=list(headers))
    if message_id is not None:
        env.find(".//{http://www.w3.org/2005/08/addressing}MessageID").text = message_id
    status, data = post(url, serialize(env))
    return status, parse_xml(data, "response")
