"""The link check (sans-IO): what may feed what, and the reason shown when a link is refused. The browser test
holds static/ports.js to the same table."""

from __future__ import annotations

import pytest

from wrapgen.web import ports

#: (output type, input type, the reason or None) -- also run through ports.js in Chromium (test_browser.py)
TABLE = [
    ("float64[n]", "float64[m]", None),
    ("float64[:,:]", "float64[:,:]", None),
    ("float64[n]", "int32", "float64[n] → int32: dtype differs"),
    ("float64[:,:]", "float64[n]", "float64[:,:] → float64[n]: rank differs (2 vs 1)"),
    ("float64[n]", "float64", "float64[n] → float64: an array cannot feed a scalar"),
    ("float64", "float64[n]", "float64 → float64[n]: a scalar cannot feed an array"),
    ("int32", "int32", None),
    ("*", "int32", None),
    ("float64[n]", "*", None),
    ("any[...]", "float64[:,:]", None),
    ("float64[:,:]", "any[...]", None),
    ("int32[n]", "any[...]", None),
    ("float32[n]", "float64[n]", "float32[n] → float64[n]: dtype differs"),
]


@pytest.mark.parametrize("out, inp, why", TABLE)
def test_the_link_rule(out, inp, why) -> None:
    assert ports.mismatch(out, inp) == why


def test_a_spec_argument_is_typed_by_dtype_and_shape() -> None:
    from wrapgen.spec.load import load_spec

    from ..pipeline.conftest import KERNELS, ROOT

    heat = load_spec(ROOT / "services" / "heat.yaml").functions["heat_step"]
    assert ports.of_arg(heat.args["u"]) == "float64[:,:]" and ports.of_arg(heat.args["nsteps"]) == "int32"
    scale = load_spec(KERNELS / "tally.yaml").functions["scale"]
    assert ports.of_arg(scale.args["a"]) == "float64[n]"


def test_a_bad_type_text_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'float64\\[' is not a port type"):
        ports.parse("float64[")
