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
