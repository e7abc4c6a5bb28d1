"""Pipelines run in this process and as fork jobs: caching by content, early cutoff, one key for every placement,
failures that stop only what depends on them, the journal's answers (why, status) -- counted by real kernel calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from wrapgen.pipeline.engine import run
from wrapgen.pipeline.errors import PipelineError

from .conftest import write

CHAIN = """\
pipeline: chain
steps:
  a: {compute: "tally.yaml#tally", params: {i: 1, x: 0}}
  b: {compute: "tally.yaml#tally", inputs: {x: a}, params: {i: 2}}
  c: {compute: "tally.yaml#tally", inputs: {x: b}, params: {i: 3}}
"""


def value(result, node: str) -> object:
    return json.loads(result.output(node).read_text())


def test_a_second_run_does_nothing_and_says_so(workdir, tally, run_cli) -> None:
    p = write(workdir / "chain.yaml", CHAIN)
    r = run(p)
    assert r.ok and r.counts() == {"done": 3} and value(r, "c") == 6.0
    assert (r.state.stat().st_mode & 0o777) == 0o700  # the journal, outputs and logs are the owner's alone
    assert tally.counts() == {1: 1, 2: 1, 3: 1}
    r = run(p)
    assert r.counts() == {"cached": 3} and r.ran == [] and tally.counts() == {1: 1, 2: 1, 3: 1}
    out = run_cli("run", str(p))
    assert out.returncode == 0 and "nothing to do: every step is up to date" in out.stdout


def test_early_cutoff_stops_at_unchanged_bytes(workdir, tally) -> None:
    p = write(workdir / "chain.yaml", CHAIN)
    run(p)
    # ms changes a's key (a parameter) but not its result: a reruns, b and c stay cached
    write(p, CHAIN.replace("params: {i: 1, x: 0}", "params: {i: 1, x: 0, ms: 5}"))
    r = run(p)
    assert r.ran == ["a"] and r.counts() == {"done": 1, "cached": 2}
    assert tally.counts() == {1: 2, 2: 1, 3: 1}
    # x changes a's result: everything after it follows
    write(p, CHAIN.replace("params: {i: 1, x: 0}", "params: {i: 1, x: 5}"))
    r = run(p)
    assert r.ran == ["a", "b", "c"] and value(r, "c") == 11.0


def test_touch_does_not_rerun_and_one_byte_does(workdir, tally, tmp_path) -> None:
    data = workdir / "a.npy"
    np.save(data, np.arange(1000.0))
    p = write(workdir / "p.yaml", """\
        pipeline: scaled
        steps:
          load: {stage_in: a.npy}
          twice: {compute: "tally.yaml#scale", inputs: {a: load}, params: {factor: 2}}
          count: {compute: "tally.yaml#tally", params: {i: 9}, after: [twice]}
        """)
    r = run(p)
    assert r.ok and np.array_equal(np.load(r.output("twice")), np.arange(1000.0) * 2)
    time.sleep(0.01)
    os.utime(data)  # touch: a new mtime, the same bytes
    assert run(p).ran == []
    a = np.load(data)
    a[500] += 1
    np.save(data, a)
    r = run(p)
    assert r.ran == ["load", "twice"] and np.load(r.output("twice"))[500] == 1002.0
    assert tally.counts() == {9: 1}  # `after` waits for a step; it does not take its output


def test_one_key_for_every_placement(workdir, tally) -> None:
    p = write(workdir / "chain.yaml", CHAIN)
    run(p)
    as_jobs = CHAIN.replace("steps:", "defaults: {job: 'fork://'}\nsteps:")
    write(p, as_jobs)
    assert run(p).ran == [] and tally.counts() == {1: 1, 2: 1, 3: 1}
    write(p, as_jobs.replace("params: {i: 3}", "params: {i: 4}"))
    r = run(p)
    assert r.ran == ["c"] and r.nodes["c"].placement == "job:fork://" and value(r, "c") == 7.0
    assert tally.counts() == {1: 1, 2: 1, 3: 1, 4: 1}  # counted in the job's own process
    write(p, CHAIN.replace("params: {i: 3}", "params: {i: 4}"))
    assert run(p).ran == []


@pytest.mark.parametrize("placement", ["", ", job: 'fork://'"])
def test_a_kernel_error_fails_fast_and_blocks_only_its_descendants(workdir, tally, placement, run_cli) -> None:
    np.save(workdir / "a.npy", np.ones(4))
    p = write(workdir / "p.yaml", "pipeline: bad\ndefaults: {retries: 3}\nsteps:\n"
              "  load: {stage_in: a.npy}\n"
              f"  nan: {{compute: 'tally.yaml#scale', inputs: {{a: load}}, params: {{factor: .nan}}{placement}}}\n"
              "  after_nan: {compute: 'tally.yaml#tally', params: {i: 1}, after: [nan]}\n"
              "  other: {compute: 'tally.yaml#tally', params: {i: 2}}\n")
    r = run(p)
    assert not r.ok
    assert r.nodes["nan"].status == "failed" and r.nodes["nan"].attempts == 1  # permanent: no retry
    assert "ValueError" in r.nodes["nan"].cause and "factor is NaN" in r.nodes["nan"].cause
    assert r.nodes["after_nan"].status == "blocked" and r.nodes["other"].status == "done"
    assert tally.counts() == {2: 1}
    out = run_cli("run", "-f", str(p))
    assert out.returncode == 1 and "FAILED nan after 1 attempt(s)" in out.stdout and "factor is NaN" in out.stdout
    status = run_cli("status", "-f", str(p))
    assert "failed nan attempt" in status.stdout and "factor is NaN" in status.stdout


def test_why_and_plan_say_what_changed(workdir, tally, run_cli) -> None:
    p = write(workdir / "chain.yaml", CHAIN)
    run(p)
    write(p, CHAIN.replace("params: {i: 2}", "params: {i: 20}"))
    why = run_cli("why", "-f", str(p), "b")
    assert why.returncode == 0, why.stderr
    assert "b: runs; key" in why.stdout and "params.i: 2 -> 20" in why.stdout
    why_c = run_cli("why", "-f", str(p), "c")
    assert "c: waits for b; it runs only if their new outputs differ in content" in why_c.stdout
    why_a = run_cli("why", "-f", str(p), "a")
    assert "a: up to date" in why_a.stdout
    plan = run_cli("plan", str(p))
    assert "run      b: params.i: 2 -> 20" in plan.stdout and "1 cached, 1 run, 1 waiting" in plan.stdout
    assert "waiting  c: runs only if the new outputs of b differ in content" in plan.stdout
    assert tally.counts() == {1: 1, 2: 1, 3: 1}  # plan and why run nothing
    bad = run_cli("why", "-f", str(p), "zz")
    assert bad.returncode != 0 and "no step 'zz'; the steps are a, b, c" in bad.stderr


def test_lost_objects_and_removed_deliveries_are_redone(workdir, tally) -> None:
    p = write(workdir / "chain.yaml", CHAIN + "  save: {stage_out: c, to: out/c.json}\n")
    run(p)
    assert json.loads((workdir / "out" / "c.json").read_text()) == 6.0
    (workdir / "out" / "c.json").unlink()
    assert run(p).ran == ["save"]
    # a large output lives as a file in the content store; lose it and its step runs again
    np.save(workdir / "a.npy", np.arange(20_000.0))
    p = write(workdir / "big.yaml", "pipeline: big\nsteps:\n  load: {stage_in: a.npy}\n"
              "  twice: {compute: 'tally.yaml#scale', inputs: {a: load}, params: {factor: 2}}\n"
              "  sum: {compute: 'tally.yaml#scale', inputs: {a: twice.out}, params: {factor: 0.5}}\n")
    r = run(p)
    r.output("twice").unlink()
    r = run(p)
    assert r.ran == ["twice"]  # its bytes came back the same: sum stays cached
    assert np.array_equal(np.load(r.output("sum")), np.arange(20_000.0))


def test_one_driver_at_a_time(workdir, tally) -> None:
    p = write(workdir / "slow.yaml", CHAIN.replace("params: {i: 1, x: 0}", "params: {i: 1, x: 0, ms: 3000}"))
    child = subprocess.Popen([sys.executable, "-m", "wrapgen", "run", "-q", str(p)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not tally.counts() and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(PipelineError, match="another run of this pipeline is in progress"):
            run(p)
    finally:
        assert child.wait(60) == 0, child.stderr.read() if child.stderr else ""
    assert run(p).ran == []


def test_bad_runs_sources_and_destinations_are_named(workdir, tally, run_cli) -> None:
    p = write(workdir / "chain.yaml", CHAIN)
    never = run_cli("status", "-f", str(p))
    assert never.returncode != 0 and "this pipeline has not run yet" in never.stderr
    run(p)
    unknown = run_cli("report", "-f", str(p), "zzzz")
    assert unknown.returncode != 0 and "run 'zzzz': no such run; runs: " in unknown.stderr
    q = write(workdir / "io.yaml", "pipeline: io\nsteps:\n  gone: {stage_in: no/such/file.npy}\n"
              "  web: {stage_out: a, to: 'http://127.0.0.1:9/x.json'}\n"
              "  a: {compute: 'tally.yaml#tally', params: {i: 5}}\n")
    r = run(q)
    assert r.nodes["gone"].status == "failed" and "cannot read: No such file or directory" in r.nodes["gone"].cause
    assert r.nodes["gone"].attempts == 1  # a missing file is not retried
    assert r.nodes["web"].status == "failed" and "http:// URLs can only be sources" in r.nodes["web"].cause
