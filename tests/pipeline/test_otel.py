"""OpenTelemetry spans synthesised from the BP log and sent over OTLP/HTTP to a receiver this test runs (it decodes
the protobuf requests with OpenTelemetry's own definitions): one trace per run, ids from the guid, a killed run's
open step as an error span, an unreachable endpoint a warning only."""

from __future__ import annotations

import http.server
import threading

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from wrapgen.pipeline.engine import run
from wrapgen.pipeline.otel import spans

from .conftest import killed_mid_step, write


class Receiver:
    """An OTLP/HTTP traces endpoint on 127.0.0.1: every request's spans, decoded."""

    def __init__(self) -> None:
        self.spans: list = []
        received = self.spans

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                req = ExportTraceServiceRequest()
                req.ParseFromString(body)
                for rs in req.resource_spans:
                    for ss in rs.scope_spans:
                        received.extend(ss.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def attrs(span) -> dict:
    return {a.key: (a.value.string_value or a.value.int_value) for a in span.attributes}


def test_a_run_becomes_one_trace(workdir, tally, receiver, monkeypatch) -> None:
    import numpy as np

    np.save(workdir / "a.npy", np.arange(4.0))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    p = write(workdir / "p.yaml", "pipeline: traced\nsteps:\n  load: {stage_in: a.npy}\n"
              "  s: {compute: 'tally.yaml#scale', inputs: {a: load}, params: {factor: 2}}\n"
              "  t: {compute: 'tally.yaml#tally', params: {i: 1}}\n")
    r = run(p)
    assert r.ok
    names = sorted(s.name for s in receiver.spans)
    assert names == ["pipeline run", "step load", "step s", "step t", "transfer load"]
    assert {s.trace_id.hex() for s in receiver.spans} == {r.guid}
    root = next(s for s in receiver.spans if s.name == "pipeline run")
    assert attrs(root)["cicd.pipeline.name"] == "traced" and attrs(root)["cicd.pipeline.result"] == "success"
    step_load = next(s for s in receiver.spans if s.name == "step load")
    transfer = next(s for s in receiver.spans if s.name == "transfer load")
    assert transfer.parent_span_id == step_load.span_id and step_load.parent_span_id == root.span_id
    assert all(s.start_time_unix_nano <= s.end_time_unix_nano for s in receiver.spans)
    assert attrs(next(s for s in receiver.spans if s.name == "step s"))["cicd.pipeline.task.run.result"] == "success"


def test_a_killed_run_exports_its_open_step_as_an_error(workdir, tally, receiver, run_cli) -> None:
    p = killed_mid_step(workdir, tally)
    out = run_cli("report", "-f", str(p), "--otlp", receiver.url)
    assert out.returncode == 0, out.stderr
    slow = next(s for s in receiver.spans if s.name == "step slow")
    assert slow.status.code == 2 and "never ended" in attrs(slow)["wrapgen.msg"]  # STATUS_CODE_ERROR
    # the same log exported again gives the same ids (an idempotent re-export)
    (log,) = (workdir / ".wrapgen" / "killed" / "runs").glob("*.log")
    assert [s["span_id"] for s in spans(log)] == [s["span_id"] for s in spans(log)]


def test_an_unreachable_endpoint_costs_a_warning_only(workdir, tally, capfd) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    p = write(workdir / "p.yaml", "pipeline: lost\nsteps:\n  a: {compute: 'tally.yaml#tally', params: {i: 1}}\n")
    r = run(p, otlp=f"http://127.0.0.1:{port}")
    assert r.ok
    assert f"spans not exported to http://127.0.0.1:{port}/v1/traces" in capfd.readouterr().err
