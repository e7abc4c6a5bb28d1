"""Complex dtypes in all three languages: Fortran DOUBLE COMPLEX, C99 double complex, C++ std::complex."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from wrapgen.bind.loader import load

KERNELS = Path(__file__).resolve().parent / "kernels"

SPECS = {
    "zscale": """\
name: zk
language: fortran
sources: [zscale.f]
functions:
  zscale:
    args:
      n: {dtype: int32, intent: hide, value: "len(x)"}
      alpha: {dtype: complex128}
      x: {dtype: complex128, shape: [n], intent: inout}
""",
    "cscale": """\
name: ck
language: c
sources: [cscale.c]
headers: [cscale.h]
functions:
  cscale:
    args:
      n: {dtype: int32, intent: hide, value: "len(x)"}
      x: {dtype: complex128, shape: [n], intent: inout}
      alpha: {dtype: float64}
    result: {dtype: float64}
""",
    "rotate": """\
name: pp
language: cpp
sources: [rotate.cpp]
headers: [rotate.hpp]
functions:
  rotate:
    args: {z: {dtype: complex128}, deg: {dtype: float64}}
    result: {dtype: complex128}
  conj_all:
    args:
      n: {dtype: int32, intent: hide, value: "len(z)"}
      z: {dtype: complex64, shape: [n], intent: inout}
""",
}


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    out = {}
    work = tmp_path_factory.mktemp("complex")
    for f in KERNELS.glob("*"):
        if f.stem in ("zscale", "cscale", "rotate"):
            shutil.copy(f, work / f.name)
    for name, text in SPECS.items():
        spec = work / f"{name}.yaml"
        spec.write_text(text)
        out[name] = load(spec, cache=work / "cache")
    return out


def test_fortran_double_complex(modules) -> None:
    x = np.array([1 + 2j, 3 - 1j])
    modules["zscale"].zscale(1j, x)
    assert x.tolist() == [-2 + 1j, 1 + 3j]
    with pytest.raises(TypeError, match="argument 'x' must be complex128, got complex64"):
        modules["zscale"].zscale(1j, x.astype(np.complex64))


def test_c99_complex_arrays(modules) -> None:
    x = np.array([1 + 2j, 3 - 1j])
    assert modules["cscale"].cscale(x, 2.0) == pytest.approx(60.0)
    assert x.tolist() == [2 + 4j, 6 - 2j]


def test_cpp_std_complex_scalars_and_arrays(modules) -> None:
    assert modules["rotate"].rotate(1 + 0j, 90.0) == pytest.approx(1j)
    z = np.array([1 + 1j, 2 - 3j], dtype=np.complex64)
    modules["rotate"].conj_all(z)
    assert z.tolist() == [1 - 1j, 2 + 3j]
    with pytest.raises(TypeError, match="argument 'z' must be complex64, got complex128"):
        modules["rotate"].conj_all(z.astype(np.complex128))
