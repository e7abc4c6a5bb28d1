"""WS-BaseNotification: pushed Notify to a consumer endpoint (with retries), pull points for clients that
cannot take connections, the Status and ResourceTermination topics, Renew and Unsubscribe."""

from __future__ import annotations

import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from lxml import etree

import wrapgen
from wrapgen.wsrf import ns as N
from wrapgen.wsrf.client import Notification
from wrapgen.wsrf.errors import ResourceUnknown

from .conftest import soap
from .test_stateless import plate


@pytest.fixture(scope="module")
def heat(server):
    return wrapgen.connect(f"{server.url}/heat")


def collect(q: queue.Queue, until, timeout: float = 60) -> list[Notification]:
    got: list[Notification] = []
    deadline = time.monotonic() + timeout
    while not until(got):
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"notifications so far: {[(n.topic, n.status, n.reason) for n in got]}")
        try:
            got.append(q.get(timeout=left))
        except queue.Empty:
            pass
    return got


def test_status_changes_and_termination_are_pushed_to_a_callback(heat) -> None:
    q: queue.Queue = queue.Queue()
    res = heat.heat_step.create(u=plate(), alpha=1.0, dt=0.1, dx=1.0, nsteps=5)
    sub = res.subscribe(q.put)
    res.start()
    got = collect(q, lambda g: any(n.status == "Succeeded" for n in g))
    assert [(n.old_status, n.status) for n in got] == [("Created", "Running"), ("Running", "Succeeded")]
    assert all(n.topic == "Status" and n.resource_key == res.key for n in got)
    res.destroy()
    (term,) = collect(q, lambda g: len(g) == 1)
    assert term.topic == "ResourceTermination" and term.reason == "destroyed by request"
    sub.close()


def test_a_pull_point_collects_messages_for_a_client_behind_nat(server) -> None:
    bad = wrapgen.connect(f"{server.url}/misbehave")
    res = bad.do_segv.create(x=np.zeros(2))
    with res.subscribe(topics=("Status",)) as sub:
        res.start()
        assert res.wait(60) == "Failed"
        deadline = time.monotonic() + 30
        got: list[Notification] = []
        while len(got) < 2 and time.monotonic() < deadline:
            got += sub.get_messages()
            time.sleep(0.05)
        assert [n.status for n in got] == ["Running", "Failed"]
        assert sub.get_messages() == []  # taken once
        res.destroy()
        time.sleep(0.5)
        assert sub.get_messages() == []  # not subscribed to ResourceTermination


def test_scheduled_termination_is_notified(heat) -> None:
    res = heat.heat_step.create(u=plate(), alpha=1.0, dt=0.1, dx=1.0)
    with res.subscribe(topics=("ResourceTermination",)) as sub:
        res.set_termination_time(0.2)
        deadline = time.monotonic() + 30
        got: list[Notification] = []
        while not got and time.monotonic() < deadline:
            got = sub.get_messages()
            time.sleep(0.05)
        assert got and got[0].reason == "scheduled termination time reached"
        assert got[0].message.find(f".//{{{N.RL}}}TerminationTime").text.endswith("Z")


def test_renew_and_unsubscribe(heat) -> None:
    q: queue.Queue = queue.Queue()
    res = heat.heat_step.create(u=plate(), alpha=1.0, dt=0.1, dx=1.0)
    sub = res.subscribe(q.put, lifetime=60)
    assert sub.renew(120).endswith("Z")
    assert sub.renew(None) is None
    consumer = sub.consumer
    sub.unsubscribe()
    with pytest.raises(ResourceUnknown, match="no subscription with key"):
        sub.renew(10)
    res.start()
    assert res.wait(60) == "Succeeded"
    time.sleep(0.5)
    assert q.empty()  # unsubscribed: nothing was pushed
    assert consumer is not None and sub.consumer is None  # and the local endpoint was closed
    res.destroy()


def test_a_consumer_that_is_down_gets_the_message_on_a_retry(heat) -> None:
    received: list[bytes] = []
    failures = [2]

    class Flaky(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            data = self.rfile.read(int(self.headers["Content-Length"]))
            if failures[0] > 0:
                failures[0] -= 1
                self.send_response(503)
            else:
                received.append(data)
                self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        res = heat.heat_step.create(u=plate(), alpha=1.0, dt=0.1, dx=1.0)
        body = etree.Element(N.q(N.WSNT, "Subscribe"), nsmap={"r": "urn:wrapgen:heat:heat_step"})
        ref = etree.SubElement(body, N.q(N.WSNT, "ConsumerReference"))
        etree.SubElement(ref, N.q(N.WSA, "Address")).text = f"http://127.0.0.1:{httpd.server_address[1]}/c"
        rp = etree.SubElement(ref, N.q(N.WSA, "ReferenceParameters"))
        etree.SubElement(rp, "{urn:consumer}Id").text = "c-42"
        key = etree.Element(N.q("urn:wrapgen:heat", "ResourceKey"))
        key.text = res.key
        status, env = soap(res.address, body, N.action("Subscribe"), [key])
        assert status == 200, etree.tostring(env)
        res.start()
        deadline = time.monotonic() + 30
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(received) >= 2 and failures[0] == 0
        first = etree.fromstring(received[0])
        assert first.findtext(f".//{{{N.WSA}}}Action") == N.action("Notify")
        assert first.find(".//{urn:consumer}Id").text == "c-42"  # the consumer's reference parameter came back
        assert first.find(".//{urn:consumer}Id").get(N.q(N.WSA, "IsReferenceParameter")) == "true"
        assert first.findtext(f".//{{{N.RP}}}NewValues/{{urn:wrapgen:heat:heat_step}}Status") == "Running"
        res.destroy()
    finally:
        httpd.shutdown()


@pytest.mark.parametrize("topic, dialect, fault", [
    ("r:Progress", N.SIMPLE_TOPIC_DIALECT, "TopicNotSupportedFault"),
    ("r:Status", "urn:xpath-topics", "TopicExpressionDialectUnknownFault"),
])
def test_subscribe_refusals(heat, topic, dialect, fault) -> None:
    with heat.heat_step.create(u=plate(), alpha=1.0, dt=0.1, dx=1.0) as res:
        body = etree.Element(N.q(N.WSNT, "Subscribe"), nsmap={"r": "urn:wrapgen:heat:heat_step"})
        ref = etree.SubElement(body, N.q(N.WSNT, "ConsumerReference"))
        etree.SubElement(ref, N.q(N.WSA, "Address")).text = "http://127.0.0.1:9/none"
        flt = etree.SubElement(body, N.q(N.WSNT, "Filter"))
        etree.SubElement(flt, N.q(N.WSNT, "TopicExpression"), Dialect=dialect).text = topic
        key = etree.Element(N.q("urn:wrapgen:heat", "ResourceKey"))
        key.text = res.key
        status, env = soap(res.address, body, N.action("Subscribe"), [key])
        assert status == 500 and env.find(f".//{{{N.WSNT}}}{fault}") is not None
        with pytest.raises(wrapgen.wsrf.WSRFError, match="unknown topic 'Progress'; topics are Status and "
                                                          "ResourceTermination"):
            res.subscribe(topics=("Progress",))
