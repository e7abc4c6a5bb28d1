"""Pipeline files: every mistake at file:line:column with what was expected; sweeps expand; the schema."""

from __future__ import annotations

import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from wrapgen.pipeline.errors import PipelineFileError
from wrapgen.pipeline.load import parse_pipeline
from wrapgen.pipeline.model import json_schema

ROOT = Path(__file__).resolve().parents[2]
HEAT = ROOT / "services" / "heat.yaml"


def parse(text: str):
    return parse_pipeline(textwrap.dedent(text).replace("HEAT", str(HEAT)), "p.yaml", ROOT)


def errors(text: str) -> list[str]:
    with pytest.raises(PipelineFileError) as info:
        parse(text)
    return [str(i) for i in info.value.issues]


GOOD = """\
pipeline: demo
steps:
  field:
    stage_in: data/u.npy
  heat:
    compute: HEAT#heat_step
    inputs: {u: field}
    params: {alpha: 0.2, dt: 1.0, dx: 1.0}
    sweep: {product: {nsteps: [1, 2]}, zip: {}}
    outputs: [u]
  save:
    stage_out: heat.u
    to: out/u-{nsteps}.npy
"""


def test_a_good_pipeline_expands_its_sweep_through_its_children() -> None:
    g = parse(GOOD)
    assert list(g.nodes) == ["field", "heat[nsteps=1]", "heat[nsteps=2]", "save[nsteps=1]", "save[nsteps=2]"]
    h = g.nodes["heat[nsteps=2]"]
    assert h.params == {"alpha": 0.2, "dt": 1.0, "dx": 1.0, "nsteps": 2} and h.outputs == ("u",)
    assert [(w.arg, w.node, w.output) for w in h.wires] == [("u", "field", "data")]
    s = g.nodes["save[nsteps=2]"]
    assert s.url == f"file://{ROOT}/out/u-2.npy" and s.wires[0].node == "heat[nsteps=2]"
    assert g.children["field"] == ["heat[nsteps=1]", "heat[nsteps=2]"]


def test_product_and_zip() -> None:
    g = parse(GOOD.replace("{product: {nsteps: [1, 2]}, zip: {}}",
                           "{product: {nsteps: [1, 2]}, zip: {alpha: [0.1, 0.2], dt: [1, 2]}}")
              .replace("params: {alpha: 0.2, dt: 1.0, dx: 1.0}", "params: {dx: 1.0}")
              .replace("u-{nsteps}", "u-{nsteps}-{alpha}"))
    points = [n.point for n in g.of_step("heat")]
    assert points == [{"nsteps": 1, "alpha": 0.1, "dt": 1}, {"nsteps": 1, "alpha": 0.2, "dt": 2},
                      {"nsteps": 2, "alpha": 0.1, "dt": 1}, {"nsteps": 2, "alpha": 0.2, "dt": 2}]


@pytest.mark.parametrize("change, expected", [
    (("    stage_in: data/u.npy\n", "    stage_in: data/u.npy\n    colour: red\n"),
     "p.yaml:5:5: steps.field.colour: unknown key 'colour'; expected one of doc, stage_in"),
    (("    stage_in: data/u.npy\n", "    stage_in: data/u.npy\n    compute: HEAT#heat_step\n"),
     "p.yaml:4:5: steps.field: a step is exactly one of stage_in, compute, call, python, stage_out; this one has stage_in and "
     "compute"),
    (("inputs: {u: field}", "inputs: {u: feild}"),
     "p.yaml:7:17: steps.heat.inputs.u: 'feild': no step 'feild'; the steps are field, heat, save"),
    (("stage_out: heat.u", "stage_out: heat.v"),
     "p.yaml:12:16: steps.save.stage_out: 'heat.v': step heat gives u, not 'v'"),
    (("HEAT#heat_step", "HEAT#heat_stp"), "steps.heat.compute: "),
    (("params: {alpha: 0.2,", "params: {alfa: 0.2,"),
     "p.yaml:8:14: steps.heat.params.alfa: heat_step takes no argument 'alfa'; it takes u, alpha, dt, dx, nsteps"),
    (("params: {alpha: 0.2, dt: 1.0, dx: 1.0}", "params: {alpha: 0.2, dt: 1.0}"),
     "steps.heat.compute: heat_step needs dx (as inputs or params)"),
    (("zip: {}", "zip: {dt: [1, 2], dx: [1]}"), "steps.heat.sweep.zip: the zip lists must be of one length"),
    (("out/u-{nsteps}.npy", "out/u.npy"), "p.yaml:13:9: steps.save.to: the sweep's points all go to 'out/u.npy'"),
    (("out/u-{nsteps}.npy", "out/u-{alpha}.npy"), "steps.save.to: {alpha}: not a swept value of this step"),
    (("pipeline: demo", "pipeline: 'de mo'"), "p.yaml:1:11: pipeline: String should match pattern"),
    (("    outputs: [u]\n", "    outputs: [u]\n    after: [save]\n"),
     "the steps wait for each other in a cycle: heat -> save -> heat"),
    (("    outputs: [u]\n", "    outputs: [u]\n    job: ssh://x\n"), "steps.heat.job: 'ssh://x': expected fork://"),
    (("    stage_in: data/u.npy\n", "    stage_in: data/u.npy\n    sha256: abc\n"),
     "p.yaml:5:13: steps.field.sha256: String should match pattern"),
])
def test_mistakes_are_located(change, expected) -> None:
    old, new = change
    assert old in GOOD
    found = errors(GOOD.replace(old, new))
    assert any(expected in e for e in found), found


def test_a_wrong_function_names_the_ones_there_are() -> None:
    found = errors(GOOD.replace("HEAT#heat_step", "HEAT#heat_stp"))
    assert any("has no function 'heat_stp'; it has heat_step" in e for e in found), found


def test_yaml_syntax_and_empty_files() -> None:
    assert errors("pipeline: [\n")[0].startswith("p.yaml:2:1: invalid YAML")
    assert "expected a mapping" in errors("- a\n- b\n")[0]


def test_every_example_validates_against_the_schema() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load(GOOD), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"pipeline": "x", "steps": {"a": {"stage_in": "u", "bogus": 1}}}, schema)


def test_wrapgen_schema_prints_the_pipeline_schema(run_cli) -> None:
    import json

    out = run_cli("schema", "--pipeline")
    assert out.returncode == 0 and json.loads(out.stdout) == json_schema()
