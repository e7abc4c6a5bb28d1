"""`wrapgen url-copy [options] SRC DST`: globus-url-copy's options where they apply (first part: file:// and
ftp:// URLs, parallel MODE E streams, -r -cd trees, -verify-checksum, -rst retries, GCT-style -vb lines)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import UsageError
from .client import Client
from .errors import GridFTPError


@dataclass
class Url:
    """A parsed source or destination."""

    scheme: str
    host: str
    port: int
    user: str
    password: str
    path: str

    @property
    def is_dir(self) -> bool:
        """A URL ending in '/' names a directory (globus-url-copy's rule)."""
        return self.path.endswith("/")


def parse_url(text: str) -> Url:
    """file:///path or ftp://[user[:password]@]host[:port]/path; anything else is a UsageError naming it."""
    u = urlsplit(text)
    if u.scheme == "file":
        if u.netloc not in ("", "localhost"):
            raise UsageError(f"{text}: file URLs are local (file:///path)")
        return Url("file", "", 0, "", "", unquote(u.path))
    if u.scheme in ("ftp", "gsiftp"):
        if u.scheme == "gsiftp":
            raise UsageError(f"{text}: gsiftp:// (GSI logins) is not supported by wrapgen url-copy yet; use ftp://")
        if not u.hostname:
            raise UsageError(f"{text}: no host")
        return Url("ftp", u.hostname, u.port or 2811, unquote(u.username or "anonymous"),
                   unquote(u.password or "wrapgen@"), unquote(u.path) or "/")
    raise UsageError(f"{text}: unsupported URL scheme {u.scheme!r}; use file:// or ftp://")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `url-copy`."""
    p = subparsers.add_parser("url-copy", help="copy between file:// and ftp:// URLs (globus-url-copy's options)")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("-p", "-parallel", dest="parallel", type=int, default=4, help="parallel data streams")
    p.add_argument("-fast", action="store_true", help="accepted for compatibility (sessions are always reused)")
    p.add_argument("-r", action="store_true", help="copy a directory tree (SRC and DST end in '/')")
    p.add_argument("-cd", action="store_true", help="create missing destination directories")
    p.add_argument("-verify-checksum", dest="verify", action="store_true", help="compare checksums after each file")
    p.add_argument("-checksum-alg", dest="alg", default="MD5")
    p.add_argument("-rst", action="store_true", help="retry failed transfers")
    p.add_argument("-rst-retries", type=int, default=5)
    p.add_argument("-vb", action="store_true", help="print bytes and rates")
    p.add_argument("-q", action="store_true", help="quiet")
    p.set_defaults(func=_run)


def _local_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _remote_files(c: Client, root: str) -> list[str]:
    out: list[str] = []
    listing = c.list(root)
    for name, facts in sorted(listing.items()):
        if name in (".", ".."):
            continue
        if facts.get("type") == "dir":
            out += [f"{name}/{sub}" for sub in _remote_files(c, f"{root.rstrip('/')}/{name}/")]
        elif facts.get("type") == "file":
            out.append(name)
    return out


def _checksum_local(path: Path, alg: str) -> str:
    from ..checksum import file_checksum

    return file_checksum(str(path), alg)


def _run(args: argparse.Namespace) -> int:
    src, dst = parse_url(args.src), parse_url(args.dst)
    if src.scheme == dst.scheme == "file":
        raise UsageError("both URLs are local; one must be ftp://")
    if src.scheme == dst.scheme == "ftp":
        raise UsageError("third-party transfers (ftp:// to ftp://) are not supported by wrapgen url-copy yet")
    if not 1 <= args.parallel <= 64:
        raise UsageError(f"-p {args.parallel}: expected 1 to 64")
    remote = src if src.scheme == "ftp" else dst
    tries = args.rst_retries + 1 if args.rst else 1
    with Client(remote.host, remote.port, remote.user, remote.password) as c:
        if args.r:
            if not (src.is_dir and dst.is_dir):
                raise UsageError("-r copies directories: SRC and DST must end in '/'")
            names = _remote_files(c, src.path) if src.scheme == "ftp" else _local_files(Path(src.path))
        else:
            names = [""]
        total, start = 0, time.monotonic()
        made: set[str] = set()
        for name in names:
            s_path = src.path + name if args.r else src.path
            d_path = dst.path + name if args.r else (dst.path + os.path.basename(src.path) if dst.is_dir else dst.path)
            for attempt in range(tries):
                try:
                    total += _copy_one(c, src, dst, s_path, d_path, args, made)
                    break
                except (GridFTPError, OSError) as exc:
                    if attempt + 1 == tries:
                        raise GridFTPError(f"{s_path} -> {d_path}: {exc}") from None
                    if not args.q:
                        print(f"retrying {s_path} after: {exc}", file=sys.stderr)
                    time.sleep(min(2 ** attempt * 0.2, 5))
        if args.vb and not args.q:
            secs = max(time.monotonic() - start, 1e-9)
            print(f"{total} bytes {total / secs / 1e6:.2f} MB/sec avg ({len(names)} file{'s' * (len(names) != 1)})")
    return 0


def _copy_one(c: Client, src: Url, dst: Url, s_path: str, d_path: str, args: argparse.Namespace,
              made: set[str]) -> int:
    if src.scheme == "ftp":
        local = Path(d_path)
        if args.cd:
            local.parent.mkdir(parents=True, exist_ok=True)
        n = c.get(s_path, local, parallel=args.parallel)
        if args.verify and _checksum_local(local, args.alg) != c.checksum(s_path, args.alg):
            raise GridFTPError(f"checksum mismatch ({args.alg}) after copying {s_path}")
    else:
        if args.cd:
            parts = d_path.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/" + "/".join(parts[:i])
                if d not in made:
                    try:
                        c.mkdir(d)
                    except GridFTPError:
                        pass  # exists already (or the STOR below says why not)
                    made.add(d)
        n = c.put(Path(s_path), d_path, parallel=args.parallel)
        if args.verify and _checksum_local(Path(s_path), args.alg) != c.checksum(d_path, args.alg):
            raise GridFTPError(f"checksum mismatch ({args.alg}) after copying {s_path}")
    if args.vb and not args.q:
        print(f"Source: {s_path}\nDest:   {d_path}\n  {n} bytes")
    return n
