"""Call overhead of a wrapgen-generated module vs the f2py extension it wraps, in one run.

    python bench/wrap_overhead.py [--repeat 7]

"f2py ext" is the C extension f2py generates from wrapgen's .pyf, called directly: plain f2py with
the same signature and the same compiled Fortran. "wrapgen" adds the generated Python function
(status check, diagnosis on failure, the lock for non-thread-safe kernels). numpy's `y += a * x` is
a reference row. "isolated" rows run the same call through wrapgen.load(..., isolated=True): a worker
process per function, arguments and the inout array pickled both ways. Times are per call, the best
of --repeat timeit runs.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

import numpy as np

import wrapgen

ROOT = Path(__file__).resolve().parent.parent


def per_call(stmt, number: int, repeat: int) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    blas1 = wrapgen.load(ROOT / "services" / "blas1.yaml")
    ext = blas1._ext

    print(f"{'kernel':<18} {'wrapgen':>12} {'f2py ext':>12} {'numpy':>12} {'wrapgen/f2py':>13}")
    rows = [("dadd (scalars)", lambda: blas1.dadd(1.0, 2.0), lambda: ext.dadd(1.0, 2.0), None, 200_000)]
    for n, number in ((10, 200_000), (1000, 100_000), (1_000_000, 200)):
        x, y = np.random.default_rng(n).standard_normal((2, n))
        rows.append((f"daxpy1 n={n:g}", (lambda x=x, y=y: blas1.daxpy1(0.5, x, y)),
                     (lambda x=x, y=y: ext.daxpy1(0.5, x, y)), (lambda x=x, y=y: y.__iadd__(0.5 * x)), number))
    iso = wrapgen.load(ROOT / "services" / "blas1.yaml", isolated=True)
    for n, number in ((10, 2000), (1_000_000, 20)):
        x, y = np.random.default_rng(n).standard_normal((2, n))
        rows.append((f"isolated n={n:g}", (lambda x=x, y=y: iso.daxpy1(0.5, x, y)),
                     (lambda x=x, y=y: ext.daxpy1(0.5, x, y)), None, number))
    for name, ours, peer, ref, number in rows:
        t_ours = per_call(ours, number, args.repeat)
        t_peer = per_call(peer, number, args.repeat)
        t_ref = per_call(ref, number, args.repeat) if ref else float("nan")
        fmt = lambda t: f"{t * 1e9:10.0f} ns" if t < 1e-5 else f"{t * 1e6:10.1f} µs"  # noqa: E731
        print(f"{name:<18} {fmt(t_ours):>12} {fmt(t_peer):>12} {fmt(t_ref) if ref else '':>12} "
              f"{t_ours / t_peer:>13.2f}")
    iso.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
