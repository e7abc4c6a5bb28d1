"""Checksum throughput: wrapgen._core vs hashlib/zlib (and the crc32c package) vs md5sum, in one run.

    python bench/checksum.py [--size 1G] [--repeat 3] [--dir DIR]

Every row checksums the same file (kept in the page cache by a warm-up read, so this measures the
hashing and the read path, not the disk). "file" rows read the file; "memory" rows hash one buffer.
Each figure is the best of --repeat runs; the digests of ours and the peer must agree.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from wrapgen import _core

CHUNK = 1 << 20


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def make_file(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    with open(path, "wb") as f:
        left = size
        block = os.urandom(CHUNK * 16)
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def best(fn: Callable[[], str], repeat: int) -> tuple[float, str]:
    times, result = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def stream(path: Path, update: Callable[[memoryview], None]) -> None:
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            update(view[:n])


def peer_file(alg: str, path: Path) -> tuple[str, Callable[[], str]] | None:
    if alg in ("MD5", "SHA1", "SHA256", "SHA512"):
        def run() -> str:
            with open(path, "rb") as f:
                return hashlib.file_digest(f, alg.lower()).hexdigest()
        return "hashlib.file_digest", run
    if alg == "ADLER32":
        return "zlib.adler32", lambda: stream_sum(path, zlib.adler32, 1)
    try:
        import crc32c  # the ICRAR package: SSE4.2 with three streams, the fastest CRC32C on PyPI
    except ImportError:
        return None
    return "crc32c (PyPI)", lambda: stream_sum(path, crc32c.crc32c, 0)


def stream_sum(path: Path, fn: Callable[[memoryview, int], int], value: int) -> str:
    """A 32-bit running checksum (zlib style: fn(data, value)) over the file, as 8 hex digits."""

    def up(view: memoryview) -> None:
        nonlocal value
        value = fn(view, value)

    stream(path, up)
    return f"{value:08x}"


def peer_memory(alg: str, data: bytes) -> tuple[str, Callable[[], str]] | None:
    if alg in ("MD5", "SHA1", "SHA256", "SHA512"):
        return "hashlib", lambda: hashlib.new(alg.lower(), data).hexdigest()
    if alg == "ADLER32":
        return "zlib.adler32", lambda: f"{zlib.adler32(data):08x}"
    try:
        import crc32c
    except ImportError:
        return None
    return "crc32c (PyPI)", lambda: f"{crc32c.crc32c(data):08x}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1G", help="file size, e.g. 256M or 1G (default 1G)")
    ap.add_argument("--memory-size", default="256M", help="buffer size for the in-memory rows (default 256M)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept (default 3)")
    ap.add_argument("--dir", default=None, help="where to put the test file (default: a temporary directory)")
    args = ap.parse_args()
    size, msize = parse_size(args.size), parse_size(args.memory_size)

    tmp = tempfile.TemporaryDirectory(dir=args.dir)
    path = Path(tmp.name) / "checksum-bench.bin"
    make_file(path, size)
    stream(path, lambda v: None)  # warm the page cache
    mb = size / 1e6

    print(f"wrapgen._core checksums, {size / 2**20:.0f} MiB file in page cache, best of {args.repeat}; "
          f"{_core.openssl_version()}; cpu {_core.cpu_features()}")
    print(f"{'algorithm':<9} {'rows':<7} {'ours MB/s':>10} {'peer':<20} {'peer MB/s':>10} {'ours/peer':>9}")
    failures = 0
    data = os.urandom(msize)
    for alg in _core.algorithms():
        t_ours, ours = best(lambda: _core.file_checksum(alg, os.fsencode(path)), args.repeat)
        peer = peer_file(alg, path)
        if peer is None:
            print(f"{alg:<9} {'file':<7} {mb / t_ours:>10.0f} {'(no peer installed)':<20}")
        else:
            t_peer, theirs = best(peer[1], args.repeat)
            ok = "" if ours == theirs else "  DIGESTS DIFFER"
            failures += bool(ok)
            print(f"{alg:<9} {'file':<7} {mb / t_ours:>10.0f} {peer[0]:<20} {mb / t_peer:>10.0f} "
                  f"{t_peer / t_ours:>9.2f}{ok}")
        t_ours, ours = best(lambda: _core.checksum(alg, data), args.repeat)
        peer = peer_memory(alg, data)
        if peer is not None:
            t_peer, theirs = best(peer[1], args.repeat)
            ok = "" if ours == theirs else "  DIGESTS DIFFER"
            failures += bool(ok)
            print(f"{'':<9} {'memory':<7} {msize / 1e6 / t_ours:>10.0f} {peer[0]:<20} "
                  f"{msize / 1e6 / t_peer:>10.0f} {t_peer / t_ours:>9.2f}{ok}")

    def md5sum() -> str:
        out = subprocess.run(["md5sum", str(path)], capture_output=True, text=True, check=True).stdout
        return out.split()[0]

    def ours_cli() -> str:
        out = subprocess.run([sys.executable, "-m", "wrapgen", "checksum", str(path)], capture_output=True,
                             text=True, check=True).stdout
        return out.split()[0]

    t_peer, theirs = best(md5sum, args.repeat)
    t_ours, ours = best(ours_cli, args.repeat)
    ok = "" if ours == theirs else "  DIGESTS DIFFER"
    failures += bool(ok)
    print(f"{'MD5':<9} {'command':<7} {mb / t_ours:>10.0f} {'md5sum':<20} {mb / t_peer:>10.0f} "
          f"{t_peer / t_ours:>9.2f}{ok}   (wrapgen checksum vs md5sum, process start-up included)")
    tmp.cleanup()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
