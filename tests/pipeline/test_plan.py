"""The planner without I/O: keys from records, cache hits, early cutoff, blocking, its transition table."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from wrapgen.pipeline.keys import diff
from wrapgen.pipeline.load import parse_pipeline
from wrapgen.pipeline.plan import CACHED, RUN, WAITING, Planner

KERNELS = Path(__file__).resolve().parent / "kernels"

CHAIN = """\
pipeline: chain
steps:
  seed: {stage_in: "x.json"}
  a: {compute: "tally.yaml#tally", inputs: {x: seed}, params: {i: 1}}
  b: {compute: "tally.yaml#tally", inputs: {x: a}, params: {i: 2}}
  c: {compute: "tally.yaml#tally", inputs: {x: b}, params: {i: 3}}
"""


def graph(text: str = CHAIN):
    return parse_pipeline(text, "chain.yaml", KERNELS)


def static(g, kernel: str = "k1", probe: str = "p1"):
    return {n: ({"kernel": kernel} if node.kind == "compute" else {"probe": {"sha256": probe * 32}})
            for n, node in g.nodes.items()}


def digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def run_all(g, known, previous, st, outputs=lambda node, key: {"result": digest(key)}):
    """Drive a planner as the engine does, 'running' nodes by making up their outputs; the runs made."""
    p = Planner(g, known, previous, st)
    ran = []
    todo = p.start()
    while todo:
        d = todo.pop(0)
        p.running(d.node)
        ran.append(d.node)
        outs = {"data": st[d.node]["probe"]["sha256"]} if g.nodes[d.node].kind == "stage_in" else outputs(d.node, d.key)
        known[d.key] = outs
        previous[d.node] = (d.key, d.record)
        todo += p.finished(d.node, outs)
    return p, ran


def test_first_run_runs_everything_and_the_second_nothing() -> None:
    g = graph()
    known, prev = {}, {}
    p = Planner(g, known, prev, static(g))
    first = p.start()
    assert [d.node for d in first] == ["seed"] and p.decisions["a"].status == WAITING
    _, ran = run_all(g, known, prev, static(g))
    assert ran == ["seed", "a", "b", "c"]
    p, ran = run_all(g, known, prev, static(g))
    assert ran == [] and all(d.status == CACHED for d in p.decisions.values())


def test_a_changed_parameter_reruns_the_step_and_unchanged_bytes_stop_there() -> None:
    g = graph()
    known, prev = {}, {}
    run_all(g, known, prev, static(g))
    g2 = graph(CHAIN.replace("params: {i: 1}", "params: {i: 10}"))
    # a's new output happens to be byte-identical to its old one: b and c stay cached (early cutoff)
    same = {"result": known[prev["a"][0]]["result"]}
    p, ran = run_all(g2, known, prev, static(g2), outputs=lambda node, key: same)
    assert ran == ["a"]
    assert p.decisions["b"].status == CACHED and p.decisions["c"].status == CACHED
    # a byte changes: the rest follows
    g3 = graph(CHAIN.replace("params: {i: 1}", "params: {i: 11}"))
    _, ran = run_all(g3, known, prev, static(g3))
    assert ran == ["a", "b", "c"]


def test_new_input_content_reruns_and_a_new_kernel_reruns_all_compute() -> None:
    g = graph()
    known, prev = {}, {}
    run_all(g, known, prev, static(g))
    _, ran = run_all(g, known, prev, static(g, probe="p2"))
    assert ran == ["seed", "a", "b", "c"]
    _, ran = run_all(g, known, prev, static(g, kernel="k2", probe="p2"))
    assert ran == ["a", "b", "c"]


def test_the_reason_is_the_field_by_field_difference() -> None:
    g = graph()
    known, prev = {}, {}
    run_all(g, known, prev, static(g))
    g2 = graph(CHAIN.replace("params: {i: 1}", "params: {i: 7}"))
    p = Planner(g2, known, prev, static(g2, kernel="k9"))
    p.start()
    assert p.decisions["a"].status == RUN
    assert p.decisions["a"].reason == ["kernel: kernel (spec, sources, compilers or wrapgen) changed: \"k1\" -> "
                                       "\"k9\"", "params.i: 1 -> 7"]
    assert diff(None, {"a": 1}) == ["never run before"]
    assert diff({"inputs": {"u": "a" * 64}}, {"inputs": {"u": "b" * 64}}) == ["inputs.u: aaaaaaaaaaaa -> bbbbbbbbbbbb"]


def test_float_parameters_are_keyed_as_the_kernel_sees_them() -> None:
    g = graph(CHAIN.replace("params: {i: 1}", "params: {i: 1, x: 2}").replace("inputs: {x: seed}, ", ""))
    g2 = graph(CHAIN.replace("params: {i: 1}", "params: {i: 1, x: 2.0}").replace("inputs: {x: seed}, ", ""))
    keys = []
    for x in (g, g2):
        p = Planner(x, {}, {}, static(x))
        assert "a" in [d.node for d in p.start()]
        keys.append(p.decisions["a"].key)
    assert keys[0] == keys[1] and keys[0] is not None


def test_a_failure_blocks_every_descendant_and_nothing_else() -> None:
    g = graph(CHAIN + '  d: {compute: "tally.yaml#tally", inputs: {x: seed}, params: {i: 4}}\n')
    p = Planner(g, {}, {}, static(g))
    (seed,) = p.start()
    p.running("seed")
    ready = p.finished("seed", {"data": "f" * 64})
    assert sorted(d.node for d in ready) == ["a", "d"]
    p.running("a")
    assert sorted(p.failed("a")) == ["b", "c"]
    assert p.decisions["d"].status == RUN and p.decisions["b"].reason == ["a failed"]
    with pytest.raises(ValueError, match="blocked -> running is not a step transition"):
        p.running("b")
