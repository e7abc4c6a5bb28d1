"""A C kernel through generated pybind11 code: Lennard-Jones forces and energy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wrapgen.bind.loader import load
from wrapgen.bind.pybind import cpp_source
from wrapgen.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
MD = ROOT / "services" / "md.yaml"


@pytest.fixture(scope="module")
def md(tmp_path_factory):
    return load(MD, cache=tmp_path_factory.mktemp("cache"))


def reference(pos: np.ndarray, eps: float, sigma: float) -> tuple[np.ndarray, float]:
    d = pos[:, None, :] - pos[None, :, :]
    r2 = (d**2).sum(-1)
    np.fill_diagonal(r2, np.inf)
    sr6 = (sigma**2 / r2) ** 3
    energy = 0.5 * (4 * eps * (sr6**2 - sr6)).sum()
    f = (24 * eps * (2 * sr6**2 - sr6) / r2)[:, :, None] * d
    return f.sum(axis=1), float(energy)


def lattice(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grid = np.array([(i, j, k) for i in range(4) for j in range(4) for k in range(4)], dtype=float)[:n] * 1.3
    return grid + rng.normal(scale=0.05, size=grid.shape)


@pytest.mark.parametrize("n", [2, 10, 64])
def test_forces_and_energy_agree_with_numpy(md, n) -> None:
    pos = lattice(n, n)
    forces, energy = md.lj_forces(pos, 0.8, 1.1)
    f_ref, e_ref = reference(pos, 0.8, 1.1)
    np.testing.assert_allclose(forces, f_ref, rtol=1e-10, atol=1e-12)
    assert energy == pytest.approx(e_ref, rel=1e-12)
    np.testing.assert_allclose(forces.sum(axis=0), 0.0, atol=1e-9)  # Newton's third law
    assert forces.flags.c_contiguous and forces.dtype == np.float64


def test_forces_are_minus_the_energy_gradient(md) -> None:
    pos = lattice(8, 3)
    forces, _ = md.lj_forces(pos, 1.0, 1.0)
    h = 1e-6
    for i, k in [(0, 0), (3, 1), (7, 2)]:
        up, down = pos.copy(), pos.copy()
        up[i, k] += h
        down[i, k] -= h
        grad = (md.lj_forces(up, 1.0, 1.0)[1] - md.lj_forces(down, 1.0, 1.0)[1]) / (2 * h)
        assert forces[i, k] == pytest.approx(-grad, rel=1e-5, abs=1e-6)


def test_input_is_used_in_place_and_never_copied_or_changed(md) -> None:
    pos = lattice(5, 1)
    snapshot = pos.copy()
    md.lj_forces(pos, 1.0, 1.0)
    np.testing.assert_array_equal(pos, snapshot)
    for bad, error, message in [
        (pos.astype(np.float32), TypeError, "argument 'pos' must be float64, got float32"),
        (np.asfortranarray(pos), TypeError, "argument 'pos' must be C-ordered (order='C') and contiguous"),
        (pos[:, :2].copy(), ValueError, "argument 'pos' must have shape (5, 3) (spec: ['n', 3]; n = 5), got (5, 2)"),
        (pos.tolist(), TypeError, "argument 'pos' must be a numpy.ndarray of float64"),
        (pos.ravel(), ValueError, "argument 'pos' must have 2 dimensions, got 1"),
    ]:
        with pytest.raises(error) as info:
            md.lj_forces(bad, 1.0, 1.0)
        assert message in str(info.value)


def test_status_and_ranges(md) -> None:
    with pytest.raises(md.CoincidentParticlesError, match=r"^lj_forces: two particles share a position") as info:
        md.lj_forces(np.zeros((2, 3)), 1.0, 1.0)
    assert info.value.code == 1
    with pytest.raises(ValueError, match=r"argument 'sigma' = -1.0 is outside \[0, inf\]"):
        md.lj_forces(lattice(3, 0), 1.0, -1.0)
    forces, energy = md.lj_forces(np.zeros((0, 3)), 1.0, 1.0)
    assert forces.shape == (0, 3) and energy == 0.0


def test_the_gil_is_released(md, progress_while) -> None:
    pos = np.random.default_rng(0).random((1500, 3)) * 20
    assert progress_while(lambda: md.lj_forces(pos, 1.0, 1.0)) > 1000


def test_without_a_header_prototypes_come_from_the_spec() -> None:
    lib = load_spec(MD)
    lib.headers = []
    text = cpp_source(lib)
    assert 'extern "C" {\nint lj_forces(int n, const double * pos, double epsilon, double sigma, ' \
           'double * forces, double * energy);\n}' in text


def test_c_function_pointer_callbacks_are_refused_clearly(tmp_path) -> None:
    from wrapgen.bind import BindError
    from wrapgen.spec import parse_spec

    lib = parse_spec("""\
name: cb
language: c
libraries: [m]
functions:
  integrate:
    args:
      f: {dtype: callback}
      a: {dtype: float64}
    callbacks:
      f: {args: {x: {dtype: float64}}, result: {dtype: float64}}
    result: {dtype: float64}
""")
    with pytest.raises(BindError, match="integrate: argument 'f' is a callback; callbacks are supported for "
                                        "Fortran kernels, not yet for C/C"):
        cpp_source(lib)
