"""Telemetry: NetLogger BP lines for every step, transfer, retry and job state, one guid per run (given to jobs);
the report's PNG and text from the log alone, a killed run's open steps included."""

from __future__ import annotations


import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from wrapgen.pipeline.engine import run
from wrapgen.netlogger import format_line, parse_line, read
from wrapgen.pipeline.report import render, spans

from .conftest import killed_mid_step, write


@given(st.text(max_size=40), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_bp_values_round_trip(name_tail, value) -> None:
    line = format_line(0.0, "x.y", msg=value, other="plain")
    fields = parse_line(line)
    assert fields["msg"] == value and fields["other"] == "plain" and fields["event"] == "x.y"
    assert "\n" not in line


def test_a_run_log_and_its_report(workdir, tally, tmp_path, run_cli) -> None:
    np.save(workdir / "a.npy", np.arange(5.0))
    p = write(workdir / "p.yaml", "pipeline: rep\nsteps:\n  load: {stage_in: a.npy}\n"
              "  s: {compute: 'tally.yaml#scale', inputs: {a: load}, params: {factor: 3}, job: 'fork://'}\n"
              "  t: {compute: 'tally.yaml#tally', params: {i: 1, ms: 100}}\n"
              "  out: {stage_out: s.out, to: out/s.npy}\n")
    r = run(p)
    assert r.ok
    events = list(read(r.log))
    assert {e["guid"] for e in events} == {r.guid}
    names = [e["event"] for e in events]
    assert names[0] == "wrapgen.pipeline.run.start" and names[-1] == "wrapgen.pipeline.run.end"
    assert names.count("wrapgen.pipeline.step.start") == names.count("wrapgen.pipeline.step.end") == 4
    assert names.count("wrapgen.pipeline.transfer.end") == 2
    states = [e["state"] for e in events if e["event"] == "wrapgen.pipeline.job.state"]
    assert states[0] == "UNSUBMITTED" and "ACTIVE" in states and states[-1] == "DONE"
    steps, info = spans(r.log)
    assert {s["node"] for s in steps} == {"load", "s", "t", "out"}
    assert "queue" in next(s for s in steps if s["node"] == "s")
    png = tmp_path / "r.png"
    text = render(r.log, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert "compute" in text and "stage_in" in text and "transfers: 2" in text and "4 done" in text
    out = run_cli("report", "-f", str(p), "-o", str(tmp_path / "cli.png"))
    assert out.returncode == 0 and (tmp_path / "cli.png").exists() and "report:" in out.stdout


def test_a_killed_runs_report_names_the_steps_in_flight(workdir, tally, tmp_path) -> None:
    killed_mid_step(workdir, tally)
    (log,) = (workdir / ".wrapgen" / "killed" / "runs").glob("*.log")
    text = render(log, tmp_path / "k.png")
    assert "the run did not end: killed?" in text and "steps started and never ended (killed): slow" in text
