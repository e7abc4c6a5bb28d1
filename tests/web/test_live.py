"""Node states (sans-IO): a run's log events folded into what the canvas shows, sweeps summed up per step."""

from __future__ import annotations

from wrapgen.pipeline.graph import Graph, Node
from wrapgen.web import live


def _graph() -> Graph:
    nodes = {"in": Node("in", "in", "stage_in"), "k[n=1]": Node("k[n=1]", "k", "compute", {"n": 1}),
             "k[n=2]": Node("k[n=2]", "k", "compute", {"n": 2}, placement="job:fork://"),
             "out": Node("out", "out", "stage_out")}
    return Graph("g", nodes, {"in": ["k[n=1]", "k[n=2]"], "k[n=1]": [], "k[n=2]": [], "out": []})


def test_log_events_become_states() -> None:
    g = _graph()
    fold = live.Fold({n: {"state": live.STALE} for n in g.nodes}, {n: x.placement for n, x in g.nodes.items()})
    ev = "wrapgen.pipeline."
    assert fold.apply({"event": ev + "step.start", "node": "in", "kind": "stage_in"}) == {"in"}
    assert fold.states["in"]["state"] == live.STAGING_IN
    fold.apply({"event": ev + "transfer.end", "node": "in", "status": "0", "bytes": "2048", "seconds": "0.5"})
    fold.apply({"event": ev + "step.end", "node": "in", "status": "0", "seconds": "0.6"})
    assert fold.states["in"]["state"] == live.DONE_RAN and fold.states["in"]["transfer"]["rate"] == 4096
    fold.apply({"event": ev + "step.start", "node": "k[n=2]", "kind": "compute"})
    assert fold.states["k[n=2]"]["state"] == live.QUEUED  # a job waits for its scheduler first
    fold.apply({"event": ev + "job.submitted", "node": "k[n=2]", "native": "42"})
    assert fold.states["k[n=2]"]["state"] == live.RUNNING
    fold.apply({"event": ev + "step.end", "node": "k[n=2]", "status": "-1", "msg": "boom"})
    fold.apply({"event": ev + "retry", "node": "k[n=2]", "msg": "boom"})
    assert fold.states["k[n=2]"]["state"] == live.QUEUED and "boom" in fold.states["k[n=2]"]["detail"]
    fold.apply({"event": ev + "step.end", "node": "k[n=2]", "status": "-1", "msg": "boom again"})
    fold.apply({"event": ev + "cutoff", "node": "k[n=1]", "after": "in"})
    assert fold.apply({"event": "something.else", "node": "in"}) == set()
    shown = live.by_step(g, fold.states)
    assert shown["k"]["state"] == live.FAILED and shown["k"]["counts"] == {live.FAILED: 1, live.CUTOFF: 1}
    assert shown["k"]["failed_points"] == ["k[n=2]"] and shown["k"]["points"] == 2
    assert shown["out"]["state"] == live.STALE
    assert not fold.ended
    fold.apply({"event": ev + "run.end", "status": "0"})
    assert fold.ended


def test_idle_states_say_what_the_last_run_did() -> None:
    from wrapgen.pipeline.plan import Decision

    g = _graph()
    decisions = {"in": Decision("in", "cached", "k1"), "k[n=1]": Decision("k[n=1]", "cached", "k2"),
                 "k[n=2]": Decision("k[n=2]", "run", "k3", reason=["params.n: 1 -> 2"]),
                 "out": Decision("out", "cached", "k4")}
    attempts = [{"node": "in", "event": "done", "key": "k1"}, {"node": "k[n=2]", "event": "failed", "key": "k3",
                                                               "info": {"cause": "boom", "stderr": "x" * 5000}}]
    s = live.idle(g, decisions, {"guid": "r"}, attempts, cutoff={"out"})
    assert s["in"]["state"] == live.DONE_RAN and s["k[n=1]"]["state"] == live.DONE_CACHED
    assert s["out"]["state"] == live.CUTOFF
    assert s["k[n=2]"]["state"] == live.FAILED and len(s["k[n=2]"]["stderr"]) == live.TAIL
    decisions["k[n=2]"] = Decision("k[n=2]", "run", "k5", reason=["params.n: 2 -> 3"])  # edited since it failed
    s = live.idle(g, decisions, {"guid": "r"}, attempts, cutoff=set())
    assert s["k[n=2]"] == {"state": live.STALE, "detail": "params.n: 2 -> 3"}


def test_a_transfer_shows_its_bytes_while_it_moves_then_verifying() -> None:
    g = _graph()
    fold = live.Fold({n: {"state": live.STALE} for n in g.nodes}, {})
    ev = "wrapgen.pipeline."
    fold.apply({"event": ev + "transfer.progress", "node": "in", "bytes": "10", "seconds": "1"})
    assert "transfer" not in fold.states["in"]  # not moving: a late progress line changes nothing
    fold.apply({"event": ev + "step.start", "node": "in", "kind": "stage_in"})
    assert fold.apply({"event": ev + "transfer.progress", "node": "in", "bytes": "1048576", "seconds": "0.5"}) == {"in"}
    assert fold.states["in"]["transfer"] == {"bytes": 1048576, "seconds": 0.5, "rate": 2097152.0}
    assert fold.states["in"]["state"] == live.STAGING_IN
    fold.apply({"event": ev + "verify", "node": "in"})
    assert fold.states["in"]["state"] == live.VERIFYING
