"""Call overhead of a wrapgen-generated module vs the f2py extension it wraps, in one run.

    python bench/wrap_overhead.py [--repeat 7]

"f2py" is the C extension f2py generates from wrapgen's .pyf, called directly: plain f2py with the
same signature and the same compiled Fortran. "pybind11" is a hand-written binding of the same
Fortran (bench/peers/blas1_pybind.cpp), built here with CMake. "wrapgen" is the generated module
(its Python function: status check, diagnosis only on failure). numpy's `y += a * x` is a reference.
"/faster" is wrapgen over the faster of the two hand-made peers. "isolated" rows run the same call through wrapgen.load(..., isolate=True): a worker
process per function, arguments and the inout array pickled both ways. Times are per call, the best
of --repeat timeit runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import timeit
from pathlib import Path

import numpy as np

import wrapgen

ROOT = Path(__file__).resolve().parent.parent


def build_hand_written(tmp: Path):
    """Build bench/peers/blas1_pybind.cpp (a hand-written pybind11 binding) and import it."""
    import importlib.util
    import subprocess

    import pybind11

    build = tmp / "build"
    subprocess.run(["cmake", "-S", str(ROOT / "bench" / "peers"), "-B", str(build), "-G", "Ninja",
                    "-DCMAKE_BUILD_TYPE=Release", f"-DPython_EXECUTABLE={sys.executable}",
                    f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
                    f"-DLEGACY_SOURCE={ROOT / 'legacy' / 'blas1' / 'saxpy.f'}"], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True)
    so = next(build.glob("blas1_hand*.so"))
    spec = importlib.util.spec_from_file_location("blas1_hand", so)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def per_call(stmt, number: int, repeat: int) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    blas1 = wrapgen.load(ROOT / "services" / "blas1.yaml")
    ext = blas1._ext
    with tempfile.TemporaryDirectory() as tmp:
        hand = build_hand_written(Path(tmp))

    fmt = lambda t: f"{t * 1e9:8.0f} ns" if t < 1e-5 else f"{t * 1e6:8.1f} µs"  # noqa: E731
    print(f"{'kernel':<18} {'wrapgen':>11} {'f2py':>11} {'pybind11':>11} {'numpy':>11} {'/f2py':>7} "
          f"{'/pybind11':>9} {'/faster':>8}")
    rows = [("dadd (scalars)", lambda: blas1.dadd(1.0, 2.0), lambda: ext.dadd(1.0, 2.0), lambda: hand.dadd(1.0, 2.0),
             None, 200_000)]
    for n, number in ((10, 200_000), (1000, 100_000), (1_000_000, 200)):
        x, y = np.random.default_rng(n).standard_normal((2, n))
        rows.append((f"daxpy1 n={n:g}", (lambda x=x, y=y: blas1.daxpy1(0.5, x, y)),
                     (lambda x=x, y=y: ext.daxpy1(0.5, x, y)), (lambda x=x, y=y: hand.daxpy1(0.5, x, y)),
                     (lambda x=x, y=y: y.__iadd__(0.5 * x)), number))
    for name, ours, f2py, pyb, ref, number in rows:
        t_ours, t_f2py, t_pyb = (per_call(f, number, args.repeat) for f in (ours, f2py, pyb))
        t_ref = per_call(ref, number, args.repeat) if ref else None
        print(f"{name:<18} {fmt(t_ours):>11} {fmt(t_f2py):>11} {fmt(t_pyb):>11} "
              f"{fmt(t_ref) if t_ref else '':>11} {t_ours / t_f2py:>7.2f} {t_ours / t_pyb:>9.2f} "
              f"{t_ours / min(t_f2py, t_pyb):>8.2f}")
    iso = wrapgen.load(ROOT / "services" / "blas1.yaml", isolate=True)
    for n, number in ((10, 2000), (1_000_000, 20)):
        x, y = np.random.default_rng(n).standard_normal((2, n))
        t_iso = per_call(lambda x=x, y=y: iso.daxpy1(0.5, x, y), number, args.repeat)
        t_in = per_call(lambda x=x, y=y: blas1.daxpy1(0.5, x, y), number * 10, args.repeat)
        print(f"{'isolated n=' + format(n, 'g'):<18} {fmt(t_iso):>11}   (in-process {fmt(t_in).strip()}: "
              f"+{fmt(t_iso - t_in).strip()} per call)")
    iso.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
