"""Streaming checksums by GridFTP name, computed by the native core with the GIL released."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from . import _core
from .errors import WrapgenError

if TYPE_CHECKING:
    from collections.abc import Buffer

__all__ = ["ALGORITHMS", "Checksum", "ChecksumError", "checksum", "file_checksum", "new"]

#: Canonical names in GridFTP's FEAT order (GCT's set) plus CRC32C.
ALGORITHMS: tuple[str, ...] = tuple(_core.algorithms())

Checksum = _core.Checksum


class ChecksumError(WrapgenError, ValueError):
    """An unknown algorithm or a byte range that the file does not have."""


def new(algorithm: str) -> _core.Checksum:
    """Start an incremental checksum (`update()`, `hexdigest()`), like hashlib.new."""
    try:
        return _core.Checksum(algorithm)
    except ValueError as exc:
        raise ChecksumError(str(exc)) from None


def checksum(algorithm: str, data: Buffer) -> str:
    """Hex checksum of a bytes-like object."""
    try:
        return _core.checksum(algorithm, data)
    except ValueError as exc:
        raise ChecksumError(str(exc)) from None


def file_checksum(
    path: str | os.PathLike[str] | bytes, algorithm: str = "MD5", offset: int = 0, length: int = -1
) -> str:
    """Hex checksum of `length` bytes of a file from `offset` (-1: to the end), as GridFTP's CKSM."""
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise ChecksumError(f"offset must be an int, got {type(offset).__name__}")
    if isinstance(length, bool) or not isinstance(length, int):
        raise ChecksumError(f"length must be an int, got {type(length).__name__}")
    try:
        return _core.file_checksum(algorithm, os.fsencode(path), offset, length)
    except ValueError as exc:
        raise ChecksumError(str(exc)) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `wrapgen checksum` to the CLI."""
    p = subparsers.add_parser(
        "checksum",
        help="checksum files like md5sum, with GridFTP's algorithms and byte ranges",
        description="Print '<hex>  <path>' for each file, like md5sum; a byte range works like GridFTP's CKSM.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "-a", "--algorithm", default="MD5", type=str.upper, help=f"one of {', '.join(ALGORITHMS)} (default MD5)"
    )
    p.add_argument("--offset", type=int, default=0, help="first byte to include (default 0)")
    p.add_argument("--length", type=int, default=-1, help="bytes to include; -1 means to the end (default)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.paths:
        try:
            print(f"{file_checksum(path, args.algorithm, args.offset, args.length)}  {path}", flush=True)
        except OSError as exc:
            print(f"wrapgen checksum: {path}: {exc.strerror or exc}", file=sys.stderr)
            failed = 1
    return failed
