"""One pipeline, every placement: a published WS-RF service and a Dask cluster give the same results and the same
keys as in-process calls and fork jobs (a result computed in one place is a cache hit in every other)."""

from __future__ import annotations

import json

import pytest

from wrapgen.pipeline.engine import run
from wrapgen.wsrf.server import Server

from .conftest import KERNELS, write

PIPE = """\
pipeline: places
steps:
  a: {{compute: "tally.yaml#tally", params: {{i: 1, x: 0.5}}{place}}}
  b: {{compute: "tally.yaml#tally", inputs: {{x: a}}, params: {{i: {i}}}{place}}}
"""


@pytest.fixture
def service(tmp_path, tally):
    # the service's kernel processes inherit TALLY_FILE: their calls are counted too
    with Server([KERNELS / "tally.yaml"], state=tmp_path / "wsrf.db", workers=1) as srv:
        yield f"{srv.url}/tally"


def test_a_service_placement_shares_keys_with_local_calls(workdir, tally, service) -> None:
    p = write(workdir / "p.yaml", PIPE.format(i=2, place=""))
    r = run(p)
    assert r.ok and json.loads(r.output("b").read_text()) == 3.5
    write(p, PIPE.format(i=2, place=f", service: '{service}'"))
    assert run(p).ran == []
    write(p, PIPE.format(i=5, place=f", service: '{service}'"))
    r = run(p)
    assert r.ran == ["b"] and r.nodes["b"].placement == f"service:{service}"
    assert json.loads(r.output("b").read_text()) == 6.5
    assert tally.counts() == {1: 1, 2: 1, 5: 1}
    write(p, PIPE.format(i=5, place=""))
    assert run(p).ran == []


def test_a_service_fault_is_the_kernels_error_and_is_not_retried(workdir, service, tmp_path) -> None:
    import numpy as np

    np.save(workdir / "a.npy", np.ones(3))
    p = write(workdir / "p.yaml", "pipeline: nan\ndefaults: {retries: 3}\nsteps:\n  load: {stage_in: a.npy}\n"
              f"  s: {{compute: 'tally.yaml#scale', inputs: {{a: load}}, params: {{factor: .nan}}, "
              f"service: '{service}'}}\n")
    r = run(p)
    s = r.nodes["s"]
    assert s.status == "failed" and s.attempts == 1 and "factor is NaN" in s.cause


def test_a_dead_service_is_retried_then_reported(workdir) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    p = write(workdir / "p.yaml", "pipeline: dead\ndefaults: {retries: 1}\nsteps:\n"
              f"  a: {{compute: 'tally.yaml#tally', params: {{i: 1}}, service: 'http://127.0.0.1:{port}/tally'}}\n")
    r = run(p)
    a = r.nodes["a"]
    assert a.status == "failed" and a.attempts == 2 and f"127.0.0.1:{port}" in a.cause


def test_dask_placement_shares_keys_with_local_calls(workdir, tally, dask_cluster) -> None:
    place = f", job: 'dask://{dask_cluster.removeprefix('tcp://')}'"
    p = write(workdir / "p.yaml", PIPE.format(i=2, place=place))
    r = run(p)
    assert r.ok and r.nodes["b"].placement.startswith("job:dask://")
    assert json.loads(r.output("b").read_text()) == 3.5
    assert tally.counts() == {}  # counted in the Dask workers' processes, not here
    write(p, PIPE.format(i=2, place=""))
    assert run(p).ran == []


def test_a_call_step_runs_an_operation_known_by_its_wsdl_alone(workdir, tally, service) -> None:
    import numpy as np

    np.save(workdir / "a.npy", np.arange(4.0))
    text = ("pipeline: calls\nsteps:\n  load: {{stage_in: a.npy}}\n"
            f"  remote: {{{{call: '{service}#scale', inputs: {{{{a: load}}}}, params: {{{{factor: {{f}}}}}}, "
            "outputs: [out]}}\n"
            "  local: {{compute: 'tally.yaml#scale', inputs: {{a: remote.out}}, params: {{factor: 2.0}}}}\n")
    p = write(workdir / "p.yaml", text.format(f=3.0))
    r = run(p)
    assert r.ok, r.nodes
    assert r.nodes["remote"].placement == f"call:{service}"
    np.testing.assert_array_equal(np.load(r.output("local", "out")), np.arange(4.0) * 6)
    assert run(p).ran == []  # keyed by the WSDL's digest, the operation, params and inputs: a hit
    r = run(write(p, text.format(f=4.0)))
    assert r.ran == ["remote", "local"]
    np.testing.assert_array_equal(np.load(r.output("local", "out")), np.arange(4.0) * 8)


def test_a_call_step_names_what_is_wrong(workdir, service) -> None:
    from wrapgen.pipeline.errors import PipelineFileError
    from wrapgen.pipeline.load import load_pipeline

    p = write(workdir / "p.yaml", "pipeline: bad\nsteps:\n  r: {call: 'tally#scale'}\n")
    with pytest.raises(PipelineFileError) as err:
        load_pipeline(p)
    text = str(err.value)
    assert "p.yaml:3:" in text and "expected SERVICE_URL#OPERATION" in text and "lists the outputs it keeps" in text
    p = write(workdir / "p.yaml", f"pipeline: bad\nsteps:\n  r: {{call: '{service}#nope', outputs: [x]}}\n")
    r = run(p)
    assert r.nodes["r"].status == "failed" and "has no operation nope" in r.nodes["r"].cause
    assert "scale" in r.nodes["r"].cause  # and what it has
