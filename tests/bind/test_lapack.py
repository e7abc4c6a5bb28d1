"""dgesv from the system LAPACK, wrapped with no sources but a replacement XERBLA."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from wrapgen.bind.loader import load

ROOT = Path(__file__).resolve().parents[2]
LAPACK = ROOT / "services" / "lapack.yaml"
F = np.asfortranarray


@pytest.fixture(scope="module")
def lapack(tmp_path_factory):
    return load(LAPACK, cache=tmp_path_factory.mktemp("cache"))


@pytest.mark.parametrize(("n", "nrhs"), [(1, 1), (5, 1), (50, 3)])
def test_dgesv_agrees_with_numpy(lapack, n, nrhs) -> None:
    rng = np.random.default_rng(n)
    a0, b0 = rng.standard_normal((n, n)), rng.standard_normal((n, nrhs))
    a, b = np.array(a0, order="F"), np.array(b0, order="F")  # copies: asfortranarray may return a0 itself
    ipiv = lapack.dgesv(a, b)
    np.testing.assert_allclose(b, np.linalg.solve(a0, b0), rtol=1e-9, atol=1e-12)
    assert ipiv.dtype == np.int32 and ipiv.shape == (n,) and ipiv.min() >= 1 and ipiv.max() <= n
    # a now holds L and U: P L U = A.
    lower, upper = np.tril(a, -1) + np.eye(n), np.triu(a)
    perm = np.arange(n)
    for i, p in enumerate(ipiv - 1):
        perm[[i, p]] = perm[[p, i]]
    np.testing.assert_allclose((lower @ upper), a0[perm], rtol=1e-9, atol=1e-12)


def test_singular_matrix_raises_linalgerror_with_the_info_code(lapack) -> None:
    with pytest.raises(np.linalg.LinAlgError, match=r"^dgesv: U\(2,2\) is exactly zero: the matrix is singular$") as info:
        lapack.dgesv(F(np.ones((3, 3))), F(np.ones((3, 1))))
    assert info.value.code == 2


def test_a_non_square_matrix_never_reaches_lapack(lapack) -> None:
    a = F(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"argument 'a' must have shape \(3, 3\) \(spec: \['lda', 'n'\]; .*got \(3, 2\)"):
        lapack.dgesv(a, F(np.ones((3, 1))))
    assert (a == 1).all()


def test_an_illegal_argument_is_an_exception_not_the_end_of_the_process(lapack) -> None:
    with pytest.raises(ValueError, match=r"^dgesv: argument 7 had an illegal value$") as info:
        lapack.dgesv(F(np.eye(3)), F(np.ones((2, 1))))  # LDB = 2 < N = 3
    assert info.value.code == -7


def test_c_ordered_matrices_are_refused_not_copied(lapack) -> None:
    a = np.eye(3) * 2  # C-ordered
    with pytest.raises(TypeError, match="argument 'a' must be Fortran-ordered"):
        lapack.dgesv(a, F(np.ones((3, 1))))


def test_without_the_xerbla_replacement_lapack_stops_the_whole_process(tmp_path) -> None:
    # Why services/lapack.yaml ships xerbla.f: reference XERBLA prints and STOPs with status 0.
    spec = tmp_path / "bare.yaml"
    spec.write_text(LAPACK.read_text().replace("sources: [../legacy/lapack/xerbla.f]\n", "").replace(
        "name: lapack", "name: lapack_bare"))
    code = textwrap.dedent(f"""
        import numpy as np
        from wrapgen.bind.loader import load
        m = load({str(spec)!r}, cache={str(tmp_path / 'cache')!r})
        try:
            m.dgesv(np.asfortranarray(np.eye(3)), np.asfortranarray(np.ones((2, 1))))
        finally:
            print("still alive")
    """)
    proc = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=300)
    assert "parameter number  7 had an illegal value" in proc.stdout + proc.stderr
    assert "still alive" not in proc.stdout  # not even a finally: block ran
    assert proc.returncode == 0  # and the process "succeeded": the trap isolation mode must catch


OTHER_LAPACK = """
    import numpy as np
    from pathlib import Path
    from wrapgen.bind.loader import load
    cache = {cache!r}
    other = Path({other!r})  # another spec on the system LAPACK, with LAPACK's own XERBLA
    mods = {{}}
    for name in {order!r}:
        if name == "scipy":
            import scipy.linalg
            scipy.linalg.solve(np.eye(2), np.ones(2))
        else:
            mods[name] = load(other if name == "other" else {lapack!r}, cache=cache)
            if name == "other":
                mods[name].dgesv(np.asfortranarray(np.eye(2)), np.asfortranarray(np.ones((2, 1))))
    try:
        mods["lapack"].dgesv(np.asfortranarray(np.eye(3)), np.asfortranarray(np.ones((2, 1))))
    except ValueError as exc:
        print("caught:", exc)
"""


@pytest.mark.parametrize("order", [("other", "lapack"), ("lapack", "other"), ("scipy", "other", "lapack"),
                                   ("scipy", "lapack")])
def test_the_replacement_xerbla_holds_whatever_was_loaded_first(tmp_path, order) -> None:
    """lapack.yaml links a private static LAPACK and its module binds its own routines first
    (-Bsymbolic-functions): the system liblapack loaded earlier by another module, with its XERBLA
    bound (BIND_NOW), cannot take the call."""
    other = tmp_path / "other.yaml"
    other.write_text(LAPACK.read_text().replace("sources: [../legacy/lapack/xerbla.f]\n", "").replace(
        "name: lapack", "name: otherlapack").replace('[":liblapack_pic.a", blas, gfortran]', "[lapack, blas]"))
    code = textwrap.dedent(OTHER_LAPACK).format(cache=str(tmp_path / "cache"), other=str(other), order=list(order),
                                                lapack=str(LAPACK))
    proc = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.stdout.strip() == "caught: dgesv: argument 7 had an illegal value", proc.stdout + proc.stderr
    assert proc.returncode == 0
