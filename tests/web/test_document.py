"""The pipeline file as the canvas's graph and back: a hand-written file opens, what the editor writes is the
pipeline YAML (sorted keys, wires as STEP.OUTPUT, positions under layout:) and runs as it is; every problem is
given with the step it concerns and the CLI's own message."""

from __future__ import annotations

import yaml

from wrapgen.pipeline.load import load_pipeline
from wrapgen.web import document
from wrapgen.web.palette import Palette

from ..pipeline.conftest import write

HAND = """\
pipeline: hand
# a comment a person wrote
steps:
  field: {stage_in: u.npy}
  heat:
    compute: heat.yaml#heat_step
    inputs: {u: field}
    params: {alpha: 0.1, dt: 1.0, dx: 1.0}
  save: {stage_out: heat, to: out.npy}
"""


def test_a_hand_written_file_opens_and_saves_as_the_same_pipeline(workdir) -> None:
    p = write(workdir / "p.yaml", HAND)
    palette = Palette([workdir], workdir)
    outs = lambda t: [o["name"] for o in palette.types[t]["outputs"]]  # noqa: E731
    g = document.to_graph(p.read_text(), outs)
    assert [n["id"] for n in g["nodes"]] == ["field", "heat", "save"]
    assert {(link["from"], link["output"], link["to"], link["input"]) for link in g["links"]} == {
        ("field", "data", "heat", "u"), ("heat", "u", "save", "data")}
    assert all(n["pos"] for n in g["nodes"])  # placed by depth: field left of heat left of save
    xs = {n["id"]: n["pos"][0] for n in g["nodes"]}
    assert xs["field"] < xs["heat"] < xs["save"]
    text = document.to_yaml(g)
    doc = yaml.safe_load(text)
    assert list(doc) == sorted(doc) and list(doc["steps"]) == sorted(doc["steps"])
    assert doc["steps"]["heat"]["inputs"] == {"u": "field.data"} and doc["steps"]["save"]["stage_out"] == "heat.u"
    assert set(doc["layout"]) == {"field", "heat", "save"}
    (workdir / "q.yaml").write_text(text)
    a, b = load_pipeline(p), load_pipeline(workdir / "q.yaml")  # the same nodes, wires and parameters
    assert [(n.name, n.wires, n.params, n.url) for n in a.nodes.values()] == \
        [(n.name, n.wires, n.params, n.url.replace("q.yaml", "p.yaml") if n.url else None) for n in b.nodes.values()]
    assert document.to_yaml(document.to_graph(text, outs)) == text  # stable: saving again changes nothing


def test_problems_name_their_step_with_the_clis_message(workdir) -> None:
    palette = Palette([workdir], workdir)
    text = HAND.replace("params: {alpha: 0.1, dt: 1.0, dx: 1.0}", "params: {alpha: 0.1}") + \
        "  t: {compute: 'tally.yaml#tally', inputs: {i: heat.u}}\n" \
        "  loop1: {compute: 'tally.yaml#tally', inputs: {x: loop2.result}, params: {i: 1}}\n" \
        "  loop2: {compute: 'tally.yaml#tally', inputs: {x: loop1.result}, params: {i: 2}}\n"
    p = write(workdir / "p.yaml", text)
    problems = document.check(text, p, palette.types)
    by_step: dict[str | None, list[str]] = {}
    for pr in problems:
        by_step.setdefault(pr["step"], []).append(pr["message"])
    assert any("heat_step needs dt, dx" in m and "p.yaml:6:" in m for m in by_step["heat"])  # unconnected/unset
    assert any("float64[:,:] → int32: dtype differs" in m for m in by_step["t"])  # the server's link check
    assert any("cycle" in m for m in by_step.get("loop1", []) + by_step.get("loop2", []))


def test_a_spec_that_does_not_validate_is_shown_in_the_palette(workdir) -> None:
    (workdir / "broken.yaml").write_text("name: broken\nlanguage: c\nfunctions:\n  f: {args: {x: {dtype: float65}}}\n")
    palette = Palette([workdir], workdir)
    [problem] = [p for p in palette.problems if p["file"] == "broken.yaml"]
    assert "broken.yaml:4:" in problem["message"] and "float65" in problem["message"]
    heat = palette.types["compute:heat.yaml#heat_step"]
    assert [i["name"] for i in heat["inputs"]] == ["u", "alpha", "dt", "dx", "nsteps"]
    assert {p["name"]: (p["min"], p["default"]) for p in heat["params"]}["nsteps"] == (0, 1)
    assert heat["outputs"] == [{"name": "u", "type": "float64[:,:]"}]


def test_a_stage_out_wired_before_its_destination_is_still_a_stage_out() -> None:
    g = {"name": "p", "nodes": [{"id": "s", "kind": "stage_in", "type": "stage_in", "fields": {"stage_in": "a"}},
                                {"id": "out", "kind": "stage_out", "type": "stage_out", "fields": {"to": ""}}],
         "links": [{"from": "s", "output": "data", "to": "out", "input": "data"}]}
    steps = yaml.safe_load(document.to_yaml(g))["steps"]
    assert steps["out"] == {"stage_out": "s.data"}  # not inputs: {data: ...}, which no stage-out takes
