"""`wrapgen build SPEC`: build a spec's module (or find it in the cache) and say where it is."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `wrapgen build` to the CLI."""
    p = subparsers.add_parser("build", help="build a spec into an importable module (cached)",
                              description="Build the module for each spec, or reuse the cached build when the spec, "
                                          "its sources and the compilers are unchanged. Prints the directory to put "
                                          "on sys.path (PYTHONPATH) to import it.")
    p.add_argument("specs", nargs="+", metavar="SPEC")
    p.add_argument("--force", action="store_true", help="rebuild even when the cache is up to date")
    p.add_argument("--cache", type=Path, default=None, help="cache directory (default $WRAPGEN_CACHE or ~/.cache/wrapgen)")
    p.add_argument("--wheel", type=Path, default=None, metavar="DIR",
                   help="also write an installable wheel of each built module into DIR (for machines without "
                        "compilers; it needs wrapgen and numpy there, no compiler)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..spec import load_spec
    from .build import build
    from .wheel import write_wheel

    for spec in args.specs:
        t0 = time.perf_counter()
        built = build(spec, cache=args.cache, force=args.force)
        how = "cached" if built.cached else f"built in {time.perf_counter() - t0:.1f} s"
        print(f"{spec}: module {built.name} ({how}): {built.path}")
        if args.wheel is not None:
            print(f"{spec}: wheel {write_wheel(load_spec(spec), built, args.wheel)}")
    return 0
