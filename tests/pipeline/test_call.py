"""wrapgen.call: one signature, identical results and the same exception classes in this process, as a job and
on a published service."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import wrapgen
from wrapgen.wsrf.server import Server

ROOT = Path(__file__).resolve().parents[2]
HEAT = ROOT / "services" / "heat.yaml"


@pytest.fixture(scope="module")
def heat_service(tmp_path_factory):
    with Server([HEAT], state=tmp_path_factory.mktemp("svc") / "s.db", workers=1) as srv:
        yield f"{srv.url}/heat"


def field() -> np.ndarray:
    u = np.zeros((12, 12), order="F")
    u[6, 6] = 100.0
    return u


@pytest.mark.parametrize("where", ["local", "fork", "service"])
def test_the_same_call_everywhere(where, heat_service) -> None:
    target, fn = {"local": (HEAT, "heat_step"), "fork": ("fork://", f"{HEAT}#heat_step"),
                  "service": (heat_service, "heat_step")}[where]
    u, ref = field(), field()
    wrapgen.load(HEAT).heat_step(ref, 0.2, 1.0, 1.0, nsteps=5)
    assert wrapgen.call(target, fn, u, 0.2, dt=1.0, dx=1.0, nsteps=5) is None
    assert np.array_equal(u, ref)  # updated in place wherever it ran
    with pytest.raises(Exception) as info:
        wrapgen.call(target, fn, field(), 10.0, dt=1.0, dx=1.0)
    assert type(info.value).__name__ == "UnstableStepError" and "unstable" in str(info.value)
    if where != "service":  # the module's own class (a service proxy makes a class of that name per service)
        assert isinstance(info.value, wrapgen.load(HEAT).UnstableStepError)


def test_bad_targets_are_named() -> None:
    with pytest.raises(wrapgen.UsageError, match="expected a spec file, fork://"):
        wrapgen.call("ssh://x", "f")
    with pytest.raises(wrapgen.UsageError, match="function='SPEC#FUNCTION'"):
        wrapgen.call("fork://", "heat_step")
