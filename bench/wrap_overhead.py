"""Call overhead of a wrapgen-generated module vs the f2py extension it wraps, in one run.

    python bench/wrap_overhead.py [--repeat 7]

"f2py" is the C extension f2py generates from wrapgen's .pyf, called directly: plain f2py with the
same signature and the same compiled Fortran. "pybind11" is a hand-written binding of the same
Fortran (bench/peers/blas1_pybind.cpp), built here with CMake. "wrapgen" is the generated module
(its Python function: status check, diagnosis only on failure). numpy's `y += a * x` is a reference.
"/faster" is wrapgen over the faster of the two hand-made peers. "isolated" rows run the same call through
wrapgen.load(..., isolate=True) (a worker process per function) and in-process on the same arrays, alternating,
with plain numpy arrays (large ones copied through shared pages, the inout one copied back) and with arrays made by
wrapgen.shared_array (worked on in place). Times are per call, the best of --repeat timeit runs.
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
    """Build bench/peers/*_pybind.cpp (hand-written pybind11 bindings) and import them."""
    import importlib.util
    import subprocess

    import pybind11

    build = tmp / "build"
    subprocess.run(["cmake", "-S", str(ROOT / "bench" / "peers"), "-B", str(build), "-G", "Ninja",
                    "-DCMAKE_BUILD_TYPE=Release", f"-DPython_EXECUTABLE={sys.executable}",
                    f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
                    f"-DLEGACY_SOURCE={ROOT / 'legacy' / 'blas1' / 'saxpy.f'}",
                    f"-DBYTES_SOURCE={ROOT / 'legacy' / 'bytes' / 'bytes.c'}",
                    f"-DBYTES_INCLUDE={ROOT / 'legacy' / 'bytes'}"], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True)
    modules = []
    for name in ("blas1_hand", "bytes_hand"):
        spec = importlib.util.spec_from_file_location(name, next(build.glob(f"{name}*.so")))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


def per_call(stmt, number: int, repeat: int) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    blas1 = wrapgen.load(ROOT / "services" / "blas1.yaml")
    ext = blas1._ext
    with tempfile.TemporaryDirectory() as tmp:
        hand, bytes_hand = build_hand_written(Path(tmp))

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
    # A byte-buffer C call (legacy/bytes rle_encode, 1 KiB in, a caller-sized bytearray out) against the same call
    # bound by hand with py::buffer (bench/peers/bytes_pybind.cpp).
    codec = wrapgen.load(ROOT / "services" / "bytecodec.yaml")
    src, dst = bytes(np.random.default_rng(1).integers(0, 4, 1024, dtype=np.uint8)), bytearray(4096)
    assert codec.rle_encode(dst, src) == bytes_hand.rle_encode(dst, src)
    t_ours, t_hand = (per_call(f, 100_000, args.repeat) for f in (lambda: codec.rle_encode(dst, src),
                                                                  lambda: bytes_hand.rle_encode(dst, src)))
    print(f"{'rle_encode 1 KiB':<18} {fmt(t_ours):>11} {'':>11} {fmt(t_hand):>11} {'':>11} {'':>7} "
          f"{t_ours / t_hand:>9.2f} {t_ours / t_hand:>8.2f}")
    # A callback-heavy Fortran routine (legacy/ode rk4: 4 call-backs per step) against f2py's own extension called
    # with a plain Python function of f2py's callback signature; per call-back.
    ode = wrapgen.load(ROOT / "services" / "ode.yaml")
    y0, steps = np.array([1.0, 0.0]), 2000

    def rhs(t, y):
        return np.array([y[1], -y[0]])

    def raw(n, t, y, iflag):
        return np.array([y[1], -y[0]]), iflag

    t_ours, t_f2py = (per_call(f, 5, args.repeat) / (4 * steps)
                      for f in (lambda: ode.rk4(rhs, y0.copy(), 0.0, 1.0, steps),
                                lambda: ode._ext.rk4(raw, y0.copy(), 0.0, 1.0, steps)))
    print(f"{'rk4 per callback':<18} {fmt(t_ours):>11} {fmt(t_f2py):>11} {'':>11} {'':>11} "
          f"{t_ours / t_f2py:>7.2f} {'':>9} {t_ours / t_f2py:>8.2f}")
    iso = wrapgen.load(ROOT / "services" / "blas1.yaml", isolate=True)
    for n, number in ((10, 2000), (1_000_000, 20)):
        plain = np.random.default_rng(n).standard_normal((2, n))
        for kind, (x, y) in (("numpy", tuple(plain)), ("shared", tuple(map(wrapgen.shared_array, plain)))):
            t_iso = t_in = float("inf")
            for _ in range(args.repeat):  # alternate, so that both see the same machine
                t_iso = min(t_iso, per_call(lambda x=x, y=y: iso.daxpy1(0.5, x, y), number, 1))
                t_in = min(t_in, per_call(lambda x=x, y=y: blas1.daxpy1(0.5, x, y), number * 10, 1))
            print(f"{'isolated n=' + format(n, 'g'):<18} {fmt(t_iso):>11}   ({kind} arrays; in-process "
                  f"{fmt(t_in).strip()}: +{fmt(t_iso - t_in).strip()} per call, +{(t_iso / t_in - 1) * 100:.0f} %)")
    iso.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
