"""A Fortran 90 module procedure with an assumed-shape array: the 2-D heat stepper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wrapgen.bind.loader import load
from wrapgen.bind.pyf import pyf_source
from wrapgen.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
HEAT = ROOT / "services" / "heat.yaml"


@pytest.fixture(scope="module")
def heat(tmp_path_factory):
    return load(HEAT, cache=tmp_path_factory.mktemp("cache"))


def reference(u: np.ndarray, alpha: float, dt: float, dx: float, nsteps: int) -> np.ndarray:
    u = u.copy()
    r = alpha * dt / dx**2
    for _ in range(nsteps):
        old = u.copy()
        u[1:-1, 1:-1] = old[1:-1, 1:-1] + r * (old[2:, 1:-1] + old[:-2, 1:-1] + old[1:-1, 2:] + old[1:-1, :-2]
                                               - 4 * old[1:-1, 1:-1])
    return u


def test_the_pyf_declares_a_module_procedure_with_assumed_shape() -> None:
    text = pyf_source(load_spec(HEAT))
    assert "    module heat\n      subroutine heat_step(u, alpha, dt, dx, nsteps, info)" in text
    assert "real*8, dimension(:, :), intent(inout) :: u" in text, text


@pytest.mark.parametrize(("shape", "nsteps"), [((3, 3), 1), ((40, 25), 10), ((7, 90), 3)])
def test_steps_agree_with_numpy(heat, shape, nsteps) -> None:
    u0 = np.random.default_rng(sum(shape)).random(shape)
    u = np.asfortranarray(u0.copy())
    address = u.__array_interface__["data"][0]
    heat.heat_step(u, 0.5, 0.1, 1.0, nsteps)
    np.testing.assert_allclose(u, reference(u0, 0.5, 0.1, 1.0, nsteps), rtol=1e-12)
    assert u.__array_interface__["data"][0] == address  # updated in place


def test_default_step_count_is_one(heat) -> None:
    u0 = np.asfortranarray(np.random.default_rng(1).random((6, 6)))
    u = u0.copy(order="F")
    heat.heat_step(u, 1.0, 0.2, 1.0)
    np.testing.assert_allclose(u, reference(u0, 1.0, 0.2, 1.0, 1), rtol=1e-12)


def test_refusals_leave_the_grid_untouched(heat) -> None:
    u = np.asfortranarray(np.random.default_rng(2).random((5, 5)))
    before = u.copy()
    with pytest.raises(TypeError, match="argument 'u' must be Fortran-ordered"):
        heat.heat_step(np.ascontiguousarray(u), 1.0, 0.1, 1.0)
    with pytest.raises(heat.UnstableStepError, match="alpha\\*dt/dx\\*\\*2 > 1/4"):
        heat.heat_step(u, 1.0, 0.3, 1.0)
    with pytest.raises(ValueError, match=r"^heat_step: the grid must be at least 3x3$"):
        heat.heat_step(np.asfortranarray(np.ones((2, 5))), 1.0, 0.1, 1.0)
    with pytest.raises(ValueError, match=r"argument 'dt' = -0.1 is outside \[0, inf\]"):
        heat.heat_step(u, 1.0, -0.1, 1.0)
    with pytest.raises(ValueError, match="argument 'u' must have 2 dimensions, got 1"):
        heat.heat_step(np.ones(9), 1.0, 0.1, 1.0)
    np.testing.assert_array_equal(u, before)
