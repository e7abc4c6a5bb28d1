"""OpenTelemetry spans synthesised from a run's NetLogger log, exported over OTLP/HTTP when an endpoint is
configured (`--otlp URL` or OTEL_EXPORTER_OTLP_ENDPOINT; needs the `otel` extra).

The log is written as the run goes; spans are made from it afterwards, all at once: a killed run loses nothing (a
step that never ended becomes an error span ending at the log's last event), and nothing is dropped under a burst
(an SDK's batch processor drops spans when its queue fills: 26 % of 10 000 in pipelines.md). Trace and span ids are
derived from the run's guid and each step's name and attempt, so exporting a run twice gives the same spans.
Attributes follow OpenTelemetry's cicd.pipeline.* conventions."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from .errors import PipelineError
from ..netlogger import parse_timestamp, read

ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"


def endpoint(given: str | None = None) -> str | None:
    """The OTLP/HTTP traces URL to export to: given, else $OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces), else None."""
    base = given or os.environ.get(ENV)
    if not base:
        return None
    return base if base.rstrip("/").endswith("/v1/traces") else base.rstrip("/") + "/v1/traces"


def _span_id(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\0".join(parts).encode()).digest()[:8], "big") or 1


def spans(log: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The run's spans as plain data: the run, then one per step attempt and per transfer, with parent, times
    (ns), status and attributes (pure: tested without an exporter)."""
    events = list(read(log))
    if not events:
        raise PipelineError(f"{log}: no events")
    guid = events[0].get("guid", "0" * 32)
    last = max(parse_timestamp(e["ts"]) for e in events)
    run_id = _span_id(guid, "run")
    run: dict[str, Any] = {"name": "pipeline run", "span_id": run_id, "parent": None, "kind": "server",
                           "start": None, "end": None, "ok": True, "attributes": {"cicd.pipeline.run.id": guid}}
    out = [run]
    opened: dict[tuple[str, str, str], dict[str, Any]] = {}
    for e in events:
        t = int(parse_timestamp(e["ts"]) * 1e9)
        name = e.get("event", "")
        if name == "wrapgen.pipeline.run.start":
            run["start"] = t
            run["attributes"]["cicd.pipeline.name"] = e.get("pipeline", "")
        elif name == "wrapgen.pipeline.run.end":
            run["end"], run["ok"] = t, int(e.get("status", "0")) >= 0
        elif name.endswith(".start") and name.startswith(("wrapgen.pipeline.step", "wrapgen.pipeline.transfer")):
            what = name.rsplit(".", 1)[0].rsplit(".", 1)[1]  # step | transfer
            node, attempt = e.get("node", ""), e.get("attempt", "")
            span = {"name": f"{what} {node}", "span_id": _span_id(guid, what, node, attempt),
                    "parent": run_id, "kind": "internal", "start": t, "end": None, "ok": True,
                    "attributes": {"cicd.pipeline.task.name": node, "cicd.pipeline.task.run.id":
                                   f"{guid}/{node}/{attempt}", **{f"wrapgen.{k}": v for k, v in e.items()
                                                                  if k in ("kind", "placement", "key", "url",
                                                                           "direction", "attempt")}}}
            if what == "transfer":
                step = opened.get(("step", node, _attempt_of(opened, node)))
                if step is not None:
                    span["parent"] = step["span_id"]
            opened[(what, node, attempt if what == "step" else "")] = span
            out.append(span)
        elif name.endswith(".end") and name.startswith(("wrapgen.pipeline.step", "wrapgen.pipeline.transfer")):
            what = name.rsplit(".", 1)[0].rsplit(".", 1)[1]
            key = (what, e.get("node", ""), e.get("attempt", "") if what == "step" else "")
            span = opened.pop(key, None)
            if span is not None:
                span["end"], span["ok"] = t, int(e.get("status", "0")) >= 0
                if e.get("msg"):
                    span["attributes"]["wrapgen.msg"] = e["msg"]
                if e.get("bytes"):
                    span["attributes"]["wrapgen.bytes"] = int(e["bytes"])
                span["attributes"]["cicd.pipeline.task.run.result"] = "success" if span["ok"] else "failure"
    end = int(last * 1e9)
    for span in out:
        if span["end"] is None:  # killed: it ran until the log stops
            span["end"], span["ok"] = end, False
            span["attributes"]["wrapgen.msg"] = "never ended (the driver was killed?)"
        if span["start"] is None:
            span["start"] = span["end"]
    run["attributes"]["cicd.pipeline.result"] = "success" if run["ok"] else "failure"
    return out


def _attempt_of(opened: dict[tuple[str, str, str], dict[str, Any]], node: str) -> str:
    found = [k[2] for k in opened if k[0] == "step" and k[1] == node]
    return found[-1] if found else ""


def export(log: str | os.PathLike[str], url: str, timeout: float = 5.0) -> int:
    """Send the run's spans to an OTLP/HTTP endpoint in one request; how many were sent."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.sdk.trace.export import SpanExportResult
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope
        from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
    except ImportError as exc:
        raise PipelineError(f"exporting spans needs OpenTelemetry: pip install 'wrapgen[otel]' ({exc})") from None
    data = spans(log)
    guid = data[0]["attributes"]["cicd.pipeline.run.id"]  # the run's span comes first
    trace_id = int(guid, 16) if len(guid) == 32 else _span_id(guid) << 64
    resource = Resource.create({"service.name": "wrapgen-pipeline"})
    scope = InstrumentationScope("wrapgen.pipeline")
    made = []
    for s in data:
        ctx = SpanContext(trace_id, s["span_id"], is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
        parent = SpanContext(trace_id, s["parent"], is_remote=False) if s["parent"] else None
        made.append(ReadableSpan(name=s["name"], context=ctx, parent=parent, resource=resource,
                                 attributes=s["attributes"], kind=SpanKind.SERVER if s["kind"] == "server"
                                 else SpanKind.INTERNAL, start_time=s["start"], end_time=s["end"],
                                 status=Status(StatusCode.OK if s["ok"] else StatusCode.ERROR),
                                 instrumentation_scope=scope))
    exporter = OTLPSpanExporter(endpoint=url, timeout=timeout)
    try:
        if exporter.export(made) != SpanExportResult.SUCCESS:
            raise PipelineError(f"{url}: the OTLP endpoint did not take the spans")
    finally:
        exporter.shutdown()
    return len(made)
