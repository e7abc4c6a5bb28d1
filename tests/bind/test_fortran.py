"""Fortran through spec -> f2py (generator) -> CMake: right answers, no silent copies, clear errors."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import wrapgen
from wrapgen import WrapgenError
from wrapgen.bind import BindError
from wrapgen.bind.build import build
from wrapgen.bind.loader import load
from wrapgen.bind.runtime import KernelError

ROOT = Path(__file__).resolve().parents[2]
TRIDIAG = ROOT / "services" / "tridiag.yaml"


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("wrapgen-cache")


@pytest.fixture(scope="module")
def tridiag(cache):
    return load(TRIDIAG, cache=cache)


def system(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    dl, du = rng.standard_normal(max(n - 1, 1)), rng.standard_normal(max(n - 1, 1))
    d = 4.0 + rng.random(n)  # diagonally dominant: no pivoting needed
    b = rng.standard_normal(n)
    a = np.diag(d) + np.diag(dl[: n - 1], -1) + np.diag(du[: n - 1], 1)
    return dl, d, du, b, a


@pytest.mark.parametrize("n", [1, 2, 3, 10, 1000])
def test_solves_like_numpy(tridiag, n) -> None:
    dl, d, du, b, a = system(n, seed=n)
    x = b.copy()
    assert tridiag.tridiag(dl, d, du, x) is None
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-10, atol=1e-12)


def test_inout_is_updated_in_place_without_a_copy(tridiag) -> None:
    dl, d, du, b, a = system(50)
    x = b.copy()
    before = x.__array_interface__["data"][0]
    tridiag.tridiag(dl, d, du, x)
    assert x.__array_interface__["data"][0] == before
    assert not np.allclose(x, b)  # the caller's own array holds the solution
    view = np.zeros(100)[::1][:50]  # a contiguous view of a bigger buffer is written through
    view[:] = b
    tridiag.tridiag(dl, d, du, view)
    np.testing.assert_allclose(view, x)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda b: b.astype(np.float32), TypeError,
         "tridiag(): argument 'b' must be float64, got float32 (intent inout: converting would work on a copy"),
        (lambda b: np.repeat(b, 2)[::2], TypeError, "tridiag(): argument 'b' must be contiguous, got a strided view"),
        (lambda b: list(b), TypeError,
         "tridiag(): argument 'b' must be a numpy.ndarray of float64 (intent inout, no conversion), got list"),
        (lambda b: np.frombuffer(b.tobytes()), ValueError,
         "tridiag(): argument 'b' is intent inout but the array is read-only"),
        (lambda b: b[:-1].copy(), ValueError,
         "tridiag(): argument 'b' must have shape (8,) (spec: ['n']; n = 8), got (7,)"),
        (lambda b: b.reshape(2, 4).copy(), ValueError, "tridiag(): argument 'b' must have 1 dimension, got 2"),
    ],
)
def test_bad_inout_arrays_are_refused_and_nothing_is_lost(tridiag, make, error, message) -> None:
    dl, d, du, b, _ = system(8)
    bad = make(b)
    snapshot = np.array(bad, copy=True)
    with pytest.raises(error) as info:
        tridiag.tridiag(dl, d, du, bad)
    assert message in str(info.value)
    np.testing.assert_array_equal(np.asarray(bad), snapshot)


def test_wrong_input_shapes_never_reach_the_kernel(tridiag) -> None:
    dl, d, du, b, _ = system(6)
    with pytest.raises(ValueError, match=r"argument 'dl' must have shape \(5,\) \(spec: \['max\(n - 1, 1\)'\]; n = 6\), got \(4,\)"):
        tridiag.tridiag(dl[:4], d, du, b.copy())


def test_inputs_declared_copy_accept_other_dtypes(tridiag) -> None:
    dl, d, du, b, a = system(12)
    x = b.copy()
    tridiag.tridiag(dl.astype(np.float32), list(d), du, x)  # in + convert copy (the default for in)
    np.testing.assert_allclose(x, np.linalg.solve(np.diag(d) + np.diag(dl.astype(np.float32).astype(float), -1)
                                                  + np.diag(du, 1), b), rtol=1e-6)


def test_info_codes_become_the_declared_exceptions(tridiag) -> None:
    dl, d, du, b, _ = system(5)
    d[0] = 0.0
    with pytest.raises(tridiag.ZeroPivotError) as info:
        tridiag.tridiag(dl, d, du, b.copy())
    assert str(info.value) == "tridiag: zero pivot in row 1: the matrix is singular or needs pivoting"
    assert info.value.code == 1
    assert isinstance(info.value, KernelError) and isinstance(info.value, WrapgenError)
    # A singular system further down: d2 - dl1*du1/d1 = 0 at row 2.
    d = np.array([1.0, 1.0, 5.0])
    with pytest.raises(tridiag.ZeroPivotError, match="zero pivot in row 2"):
        tridiag.tridiag(np.array([1.0, 1.0]), d, np.array([1.0, 1.0]), np.ones(3))


def test_refusals_the_spec_cannot_explain_still_show_what_was_given(tridiag) -> None:
    # n = 0: f2py refuses the empty arrays before the kernel could set INFO = -1.
    with pytest.raises(ValueError) as info:
        tridiag.tridiag(np.ones(1), np.ones(0), np.ones(1), np.ones(0))
    assert str(info.value).startswith("tridiag(): ")
    assert str(info.value).endswith("(given: dl (1,), d (0,), du (1,), b (0,))")


def test_the_gil_is_released_during_the_call(tridiag, progress_while) -> None:
    n = 4_000_000
    dl, d, du, b = np.ones(n - 1), np.full(n, 4.0), np.ones(n - 1), np.ones(n)
    assert progress_while(lambda: [tridiag.tridiag(dl, d, du, b) for _ in range(3)]) > 1000


def test_docstring_and_stub(tridiag) -> None:
    doc = tridiag.tridiag.__doc__
    assert doc.startswith("tridiag(dl, d, du, b)")
    assert "b : float64 array of shape (n), order F (modified in place; no copy is ever made)" in doc
    assert "Computed for you: n = shape(d, 0), work (work array)" in doc
    assert "ZeroPivotError\n    when info >0" in doc
    stub = Path(tridiag.__file__).with_suffix(".pyi").read_text()
    ast.parse(stub)
    assert "def tridiag(dl: npt.NDArray[np.float64], d: npt.NDArray[np.float64], du: npt.NDArray[np.float64], " \
           "b: npt.NDArray[np.float64]) -> None: ..." in stub
    assert "class ZeroPivotError(KernelError): ..." in stub


def test_an_unchanged_spec_is_not_rebuilt_and_a_changed_source_is(tmp_path) -> None:
    (tmp_path / "src").mkdir()
    shutil.copy(ROOT / "legacy" / "tridiag" / "tridiag.f", tmp_path / "src" / "tridiag.f")
    spec = tmp_path / "t.yaml"
    spec.write_text(TRIDIAG.read_text().replace("../legacy/tridiag/tridiag.f", "src/tridiag.f"))
    first = build(spec, cache=tmp_path / "cache")
    again = build(spec, cache=tmp_path / "cache")
    assert (first.cached, again.cached, again.key) == (False, True, first.key)
    src = tmp_path / "src" / "tridiag.f"
    src.write_text(src.read_text().replace("C     Solve the", "C     (edited) Solve the"))
    changed = build(spec, cache=tmp_path / "cache")
    assert not changed.cached and changed.key != first.key


def test_a_compiler_error_points_at_the_legacy_source_line(tmp_path) -> None:
    broken = tmp_path / "broken.f"
    broken.write_text((ROOT / "legacy" / "tridiag" / "tridiag.f").read_text().replace(
        "      DENOM = D(1)\n", "      DENOM = D(1) +\n"))
    spec = tmp_path / "b.yaml"
    spec.write_text(TRIDIAG.read_text().replace("../legacy/tridiag/tridiag.f", "broken.f"))
    with pytest.raises(BindError) as info:
        build(spec, cache=tmp_path / "cache")
    text = str(info.value)
    assert text.startswith(f"{broken}:25:")
    assert "Syntax error in expression" in text
    assert "DENOM = D(1) +" in text.splitlines()[1]
    log = Path(text.rsplit("full build log: ", 1)[1])
    assert log.is_file() and "Syntax error in expression" in log.read_text()


def test_build_command_and_import_from_the_printed_path(run_cli, tmp_path) -> None:
    proc = run_cli("build", str(TRIDIAG), "--cache", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    path = proc.stdout.strip().rsplit(": ", 1)[1]
    code = ("import numpy as np, tridiag; b = np.ones(3); "
            "tridiag.tridiag(np.ones(2), np.full(3, 4.0), np.ones(2), b); print(b.round(6).tolist())")
    out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": path, "PATH": "/usr/bin:/bin"}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(np.linalg.solve(np.diag([4.0] * 3) + np.diag([1.0, 1.0], -1)
                                                     + np.diag([1.0, 1.0], 1), np.ones(3)).round(6).tolist())
    again = run_cli("build", str(TRIDIAG), "--cache", str(tmp_path))
    assert "(cached)" in again.stdout


def test_one_call_api(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("WRAPGEN_CACHE", str(tmp_path))
    module = wrapgen.load(TRIDIAG)
    assert module.__name__ == "tridiag" and callable(module.tridiag)


SCALE_F = """\
      SUBROUTINE SCALE(N, ALPHA, X, STATUS)
      INTEGER N, STATUS
      DOUBLE PRECISION ALPHA, X(N)
      INTEGER I
      STATUS = 0
      IF (ALPHA .EQ. 0.0D0) STATUS = 2
      IF (ALPHA .LT. -5.0D2) STATUS = 7
      IF (STATUS .NE. 0) RETURN
      DO 10 I = 1, N
         X(I) = ALPHA * X(I)
   10 CONTINUE
      END
"""

SCALE_SPEC = """\
name: scale
language: fortran
sources: [scale.f]
functions:
  scale:
    args:
      n: {dtype: int32, intent: hide, value: "len(x)"}
      alpha: {dtype: float64, default: 2.0, range: {min: -1000, max: 1000}}
      x: {dtype: float64, shape: [n], intent: inout}
      status: {dtype: int32, intent: out}
    errors:
      from: status
      codes:
        - {code: 2, exception: ZeroFactorError, message: "alpha = {alpha} must not be zero"}
"""


@pytest.fixture(scope="module")
def scale(tmp_path_factory, cache):
    d = tmp_path_factory.mktemp("scale")
    (d / "scale.f").write_text(SCALE_F)
    (d / "scale.yaml").write_text(SCALE_SPEC)
    return load(d / "scale.yaml", cache=cache)


def test_defaults_ranges_and_messages_with_arguments(scale) -> None:
    x = np.ones(3)
    scale.scale(x)
    assert x.tolist() == [2.0, 2.0, 2.0]
    scale.scale(x, alpha=np.float32(0.5))
    assert x.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match=r"^scale\(\): argument 'alpha' = 1001 is outside \[-1000, 1000\]$"):
        scale.scale(x, 1001)
    with pytest.raises(TypeError, match=r"^scale\(\): argument 'alpha' must be a real number, got str$"):
        scale.scale(x, "2")
    with pytest.raises(TypeError, match="must be a real number, got ndarray"):
        scale.scale(x, np.ones(2))
    with pytest.raises(scale.ZeroFactorError, match=r"^scale: alpha = 0.0 must not be zero$"):
        scale.scale(x, 0.0)
    assert x.tolist() == [1.0, 1.0, 1.0]


def test_a_status_missing_from_the_table_is_still_an_error(scale) -> None:
    with pytest.raises(KernelError, match=r"^scale: status = 7, which the spec's error table does not describe$") as info:
        scale.scale(np.ones(2), -600.0)
    assert info.value.code == 7


def test_blas1_kernels_and_strict_inputs(cache) -> None:
    blas1 = load(ROOT / "services" / "blas1.yaml", cache=cache)
    x, y = np.arange(4.0), np.ones(4)
    blas1.daxpy1(2.0, x, y)
    assert y.tolist() == [1.0, 3.0, 5.0, 7.0]
    assert blas1.dadd(1.5, 2.25) == 3.75
    # x is intent in with convert: error, so a float32 x is refused instead of silently copied.
    with pytest.raises(TypeError, match=r"daxpy1\(\): argument 'x' must be float64, got float32 \(intent in:"):
        blas1.daxpy1(2.0, x.astype(np.float32), y)
    assert y.tolist() == [1.0, 3.0, 5.0, 7.0]
    # Read-only memory (np.frombuffer, mmap_mode='r') is explained, not called "not fortran contiguous".
    frozen = np.frombuffer(np.arange(4.0).tobytes())
    with pytest.raises(TypeError, match=r"daxpy1\(\): argument 'x' is a read-only array; this Fortran binding "
                                        r"takes it without a copy and so needs writable memory"):
        blas1.daxpy1(2.0, frozen, y)
    assert y.tolist() == [1.0, 3.0, 5.0, 7.0]


def test_an_edited_library_can_be_loaded_again_in_the_same_process(tmp_path) -> None:
    # The notebook workflow: edit the legacy source, call load() again, get the new code.
    (tmp_path / "scale.f").write_text(SCALE_F)
    spec = tmp_path / "scale.yaml"
    spec.write_text(SCALE_SPEC)
    first = load(spec, cache=tmp_path / "cache")
    x = np.ones(2)
    first.scale(x, 3.0)
    assert x.tolist() == [3.0, 3.0]
    (tmp_path / "scale.f").write_text(SCALE_F.replace("X(I) = ALPHA * X(I)", "X(I) = ALPHA + X(I)"))
    second = load(spec, cache=tmp_path / "cache")
    assert second is not first and second._ext is not first._ext
    second.scale(x, 3.0)
    assert x.tolist() == [6.0, 6.0]  # the edited kernel adds
    first.scale(x, 2.0)
    assert x.tolist() == [12.0, 12.0]  # the old module object keeps the old code
