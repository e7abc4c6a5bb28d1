"""Stateful WS-Resources: factory -> properties -> Start -> FetchResult -> Destroy, the WS-ResourceProperties
and WS-ResourceLifetime operations, their faults, and state kept across a server restart."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from lxml import etree

import wrapgen
from wrapgen.wsrf import RemoteFault, Server, ns as N
from wrapgen.wsrf.errors import ResourceUnknown

from .conftest import ROOT, SPECS, soap
from .test_stateless import plate

RES_NS = "urn:wrapgen:heat:heat_step"


@pytest.fixture(scope="module")
def heat(server):
    return wrapgen.connect(f"{server.url}/heat")


def local_heat(u: np.ndarray, *args) -> np.ndarray:
    u = u.copy(order="F")
    wrapgen.load(ROOT / "services" / "heat.yaml").heat_step(u, *args)
    return u


def test_create_start_fetch_destroy(heat) -> None:
    u = plate()
    res = heat.heat_step.create(u=u, alpha=1.0, dt=0.1, dx=1.0, nsteps=30)
    props = res.properties
    assert props["Status"] == "Created" and props["Progress"] == 0.0
    np.testing.assert_array_equal(props["Parameters"]["u"], u)
    assert props["Parameters"]["nsteps"] == 30
    assert props["TerminationTime"] is not None and props["CurrentTime"].endswith("Z")
    res.start()
    assert res.wait(60) == "Succeeded"
    np.testing.assert_array_equal(res.result(), local_heat(plate(), 1.0, 0.1, 1.0, 30))
    assert res.properties["Progress"] == 1.0
    np.testing.assert_array_equal(res.properties["Result"]["u"], res.result())
    res.destroy()
    with pytest.raises(ResourceUnknown, match="no heat_step resource with key"):
        res.status


def test_parameters_set_after_create_and_fixed_after_start(heat) -> None:
    res = heat.heat_step.create(alpha=0.5)
    with pytest.raises(RemoteFault, match=r"cannot start: missing arguments 'u', 'dt', 'dx'"):
        res.start()
    assert res.status == "Created"
    res.set_parameters(u=plate(), alpha=0.5, dt=0.1, dx=1.0)
    res.start()
    with pytest.raises(RemoteFault, match=r"the parameters are fixed once the computation has started") as info:
        res.set_parameters(u=plate(), alpha=0.5, dt=0.2, dx=1.0)
    assert info.value.element == N.q(N.RP, "UnableToModifyResourcePropertyFault")
    with pytest.raises(RemoteFault, match="already started"):
        res.start()
    assert res.wait(60) == "Succeeded"
    np.testing.assert_array_equal(res.result(), local_heat(plate(), 0.5, 0.1, 1.0, 1))
    res.destroy()


def test_get_property_multiple_and_unknown_qname(server, heat) -> None:
    with heat.heat_step.create(u=plate(), alpha=1.0, dt=0.1, dx=1.0) as res:
        (status,) = res.get_property(f"{{{RES_NS}}}Status")
        assert status.text == "Created"
        (tt,) = res.get_property(f"{{{N.RL}}}TerminationTime")
        assert tt.text.endswith("Z")
        with pytest.raises(RemoteFault, match=r"this resource has no property \{urn:wrapgen:heat:heat_step\}Nope")\
                as info:
            res.get_property(f"{{{RES_NS}}}Nope")
        assert info.value.element == N.q(N.RP, "InvalidResourcePropertyQNameFault")
        body = etree.Element(N.q(N.RP, "GetMultipleResourceProperties"), nsmap={"r": RES_NS, "rl": N.RL})
        for name in ("r:Progress", "rl:CurrentTime", "r:Status"):
            etree.SubElement(body, N.q(N.RP, "ResourceProperty")).text = name
        key = etree.Element(N.q("urn:wrapgen:heat", "ResourceKey"))
        key.text = res.key
        status, env = soap(res.address, body, N.action("GetMultipleResourceProperties"), [key])
        assert status == 200
        resp = env.find(f".//{{{N.RP}}}GetMultipleResourcePropertiesResponse")
        assert [etree.QName(e).localname for e in resp] == ["Progress", "CurrentTime", "Status"]
        assert env.findtext(f".//{{{N.WSA}}}Action") == N.action("GetMultipleResourceProperties", True)


def test_query_resource_properties_xpath(heat) -> None:
    with heat.heat_step.create(u=plate(), alpha=1.0, dt=0.1, dx=1.0, nsteps=3) as res:
        assert res.query("string(r:Status)") == ["Created"]
        assert res.query("r:Parameters/tns:nsteps + 1") == ["4"]
        (el,) = res.query("/r:ResourceProperties/r:Progress")
        assert el.tag == f"{{{RES_NS}}}Progress"
        assert res.query("boolean(wsrf-rl:TerminationTime)") == ["true"]
        with pytest.raises(RemoteFault, match="is invalid") as info:
            res.query("r:Status[")
        assert info.value.element == N.q(N.RP, "InvalidQueryExpressionFault")
        with pytest.raises(RemoteFault, match="took longer than 1 s and was stopped") as info:
            res.query("count(//node()[count(//node()[count(//node()[count(//node()[count(//node()"
                      "[count(//node())>0])>0])>0])>0])>0])")
        assert info.value.element == N.q(N.RP, "QueryEvaluationErrorFault")
        body = etree.Element(N.q(N.RP, "QueryResourceProperties"))
        etree.SubElement(body, N.q(N.RP, "QueryExpression"), Dialect="urn:sql").text = "select 1"
        key = etree.Element(N.q("urn:wrapgen:heat", "ResourceKey"))
        key.text = res.key
        status, env = soap(res.address, body, N.action("QueryResourceProperties"), [key])
        assert status == 500
        assert env.find(f".//{{{N.RP}}}UnknownQueryExpressionDialectFault") is not None


def test_missing_or_unknown_key_is_resource_unknown_never_a_500(server) -> None:
    body = etree.Element(N.q(N.RP, "GetResourcePropertyDocument"))
    status, env = soap(f"{server.url}/heat/heat_step", body, N.action("GetResourcePropertyDocument"))
    assert status == 500
    fault = env.find(f".//{{{N.R}}}ResourceUnknownFault")
    assert fault is not None and "carries no {urn:wrapgen:heat}ResourceKey" in fault.findtext(N.q(N.BF, "Description"))
    assert env.findtext(f".//{{{N.WSA}}}Action") == N.FAULT_ACTION
    key = etree.Element(N.q("urn:wrapgen:heat", "ResourceKey"))
    key.text = "no-such-key"
    status, env = soap(f"{server.url}/heat/heat_step", body, N.action("GetResourcePropertyDocument"), [key])
    assert status == 500 and env.find(f".//{{{N.R}}}ResourceUnknownFault") is not None


def test_scheduled_termination_destroys_and_nil_means_never(heat) -> None:
    res = heat.heat_step.create(u=plate(), alpha=1.0, dt=0.1, dx=1.0)
    assert res.set_termination_time(None) is None
    assert res.properties["TerminationTime"] is None
    new = res.set_termination_time(0.3)
    assert new.endswith("Z")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            res.status
        except ResourceUnknown:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the sweeper did not destroy the resource after its termination time")


def test_cancel_and_destroy_stop_a_running_computation(server) -> None:
    bad = wrapgen.connect(f"{server.url}/misbehave")
    res = bad.spin.create(x=np.zeros(1))
    res.start()
    time.sleep(0.3)
    assert res.status == "Running"
    res.cancel()
    assert res.status == "Cancelled"
    with pytest.raises(RemoteFault, match="no result: the spin computation is Cancelled"):
        res.result()
    with pytest.raises(RemoteFault, match="nothing to cancel"):
        res.cancel()
    res.destroy()


CAUSES = [
    ("do_segv", {"x": np.zeros(4)}, "KernelCrashed", r"crashed with SIGSEGV \(Segmentation fault\)"),
    ("do_stop", {"code": 3}, "KernelExited", r"ended its process with exit status 3 .*STOP 3"),
    ("do_abort", {}, "KernelCrashed", r"crashed with SIGABRT"),
    ("spin", {"x": np.zeros(1)}, "KernelTimeout", r"no result after 1.5 s"),
    ("hog", {"mib": 512}, "KernelOutOfMemory", r"needed more than its memory limit of 67108864 bytes"),
]


def check_causes(url: str) -> None:
    bad = wrapgen.connect(f"{url}/misbehave")
    for fn, params, exception, message in CAUSES:
        with getattr(bad, fn).create(**params) as res:
            res.start()
            assert res.wait(60) == "Failed", fn
            assert re.search(message, res.properties["Error"], re.S), res.properties["Error"]
            with pytest.raises(RemoteFault) as info:
                res.result()
            assert type(info.value).__name__ == exception, (fn, info.value)
    with bad.add_one.create(x=np.arange(3.0)) as ok:
        ok.start()
        assert ok.wait(60) == "Succeeded"
        assert ok.result().tolist() == [1.0, 2.0, 3.0]


def test_a_crashing_computation_fails_its_resource_only(server) -> None:
    check_causes(server.url)


def test_without_an_executor_start_falls_back_to_detached_runners(tmp_path) -> None:
    """WsrfApp embedded in another WSGI server (no executor beside it): the same behaviour, slower."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from wrapgen.wsrf.app import ServiceConfig, WsrfApp

    class Quiet(WSGIRequestHandler):
        def log_message(self, *a) -> None:
            pass

    app = WsrfApp(ServiceConfig(specs=[str(s) for s in SPECS], state=str(tmp_path / "s.db")))
    httpd = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_port}"
        res = wrapgen.connect(f"{url}/heat").heat_step.create(u=plate(), alpha=1.0, dt=0.1, dx=1.0, nsteps=3)
        res.start()
        assert res.wait(60) == "Succeeded"
        np.testing.assert_array_equal(res.result(), local_heat(plate(), 1.0, 0.1, 1.0, 3))
        check_causes(url)
    finally:
        httpd.shutdown()
        app.close()


def test_state_survives_a_restart(tmp_path) -> None:
    state = tmp_path / "state.db"
    with Server(SPECS[:1], state=state, workers=1) as srv:
        res = wrapgen.connect(f"{srv.url}/heat").heat_step.create(u=plate(), alpha=1.0, dt=0.1, dx=1.0, nsteps=4)
        res.start()
        assert res.wait(60) == "Succeeded"
        epr = etree.tostring(res.epr())
    with Server(SPECS[:1], state=state, workers=1, port=0) as srv2:
        from wrapgen.wsrf.client import Resource

        again = Resource.from_epr(epr)
        again.address = f"{srv2.url}/heat/heat_step"  # the restarted server listens on another free port
        assert again.status == "Succeeded"
        np.testing.assert_array_equal(again.result()["u"], local_heat(plate(), 1.0, 0.1, 1.0, 4))
        again.destroy()


def test_large_results_are_offered_as_a_download_url(tmp_path) -> None:
    with Server(SPECS[:1], state=tmp_path / "s.db", workers=1, inline_limit=1000) as srv:
        heat = wrapgen.connect(f"{srv.url}/heat")
        u = plate(40)  # 12.8 kB > 1000 bytes
        import zeep

        out = zeep.Client(f"{srv.url}/heat?wsdl").service.heat_step(
            u={"dtype": "float64", "shape": [40, 40], "order": "F", "data": u.tobytes(order="F")},
            alpha=1.0, dt=0.1, dx=1.0)
        assert out.data is None and out.href.startswith(f"{srv.url}/heat/blob/")
        heat.heat_step(u, 1.0, 0.1, 1.0)  # the client follows the URL
        np.testing.assert_array_equal(u, local_heat(plate(40), 1.0, 0.1, 1.0, 1))
