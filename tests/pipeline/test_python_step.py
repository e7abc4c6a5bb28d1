"""Python steps: a small expression over a step's inputs (the editor's local-code node), checked when the file is
read, keyed by its text, inputs and params, its errors the step's cause."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wrapgen.pipeline.engine import run
from wrapgen.pipeline.errors import PipelineFileError
from wrapgen.pipeline.load import load_pipeline

from .conftest import write

PIPE = """\
pipeline: py
steps:
  a: {{compute: 'tally.yaml#tally', params: {{i: 1, x: 0.5}}}}
  load: {{stage_in: v.npy}}
  mix: {{python: '{expr}', inputs: {{t: a.result, v: load}}, params: {{k: 3}}}}
  scaled: {{compute: 'tally.yaml#scale', inputs: {{a: mix.result}}, params: {{factor: 2.0}}}}
"""


def test_an_expression_runs_over_its_inputs_and_feeds_a_kernel(workdir, tally) -> None:
    np.save(workdir / "v.npy", np.arange(4.0))
    p = write(workdir / "p.yaml", PIPE.format(expr="v * t + k"))
    r = run(p)
    assert r.ok, r.nodes
    np.testing.assert_array_equal(np.load(r.output("scaled", "out")), (np.arange(4.0) * 1.5 + 3) * 2)
    assert run(p).ran == []
    r = run(write(p, PIPE.format(expr="(v * t) + k")))  # another text, the same bytes: early cutoff
    assert r.ran == ["mix"] and r.nodes["scaled"].status == "cached"
    r = run(write(p, PIPE.format(expr="float(np.sum(v))")))  # a scalar result into an array input: its error
    assert r.nodes["scaled"].status == "failed"


def test_an_expression_is_checked_before_anything_runs(workdir) -> None:
    for expr, words in (("v *", "not a Python expression"), ("v + w", "w: not an input, param or swept value"),
                        ("__import__(\"os\")", "__import__: not an input")):
        p = write(workdir / "p.yaml", PIPE.format(expr=expr.replace("'", "''")))
        with pytest.raises(PipelineFileError) as err:
            load_pipeline(p)
        assert "p.yaml:5:" in str(err.value) and words in str(err.value), str(err.value)
    # the wiring rules of compute steps hold here too: one length for zip lists, nothing both swept and given
    p = write(workdir / "p.yaml", PIPE.format(expr="v * k").replace(
        "params: {k: 3}}", "params: {k: 3}, sweep: {zip: {k: [1, 2], j: [1]}}}"))
    with pytest.raises(PipelineFileError) as err:
        load_pipeline(p)
    assert "the zip lists must be of one length; they are k: 2, j: 1" in str(err.value)
    assert "k is swept and also given a value" in str(err.value)


def test_an_expressions_own_error_is_the_steps_cause(workdir, tally) -> None:
    np.save(workdir / "v.npy", np.arange(4.0))
    p = write(workdir / "p.yaml", PIPE.format(expr="v[10]"))
    r = run(p)
    assert r.nodes["mix"].status == "failed" and r.nodes["mix"].attempts == 1
    assert "IndexError" in r.nodes["mix"].cause and "v[10]" in r.nodes["mix"].cause
    assert r.nodes["scaled"].status == "blocked" and r.nodes["a"].status == "done"
    p = write(workdir / "p.yaml", PIPE.format(expr="len(open)"))  # not a builtin it may use
    with pytest.raises(PipelineFileError, match="open: not an input"):
        load_pipeline(p)
    p = write(workdir / "p.yaml", PIPE.format(expr="{1, 2}"))
    r = run(p)
    assert "gave a set" in r.nodes["mix"].cause
    p = write(workdir / "p.yaml", PIPE.format(expr="dict(n=k, t=t)"))
    r = run(p)
    assert json.loads(r.output("mix", "result").read_text()) == {"n": 3, "t": 1.5}
