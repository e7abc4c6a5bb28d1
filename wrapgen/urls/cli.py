"""`wrapgen url-copy [options] SRC DST`: globus-url-copy's options where they apply.

URLs: file:///path, ftp://[user[:password]@]host[:port]/path, gsiftp://host[:port]/path (GSI, the proxy in
$X509_USER_PROXY, delegated; data channels DCAU A unless -nodcau) and http(s):// as a source. Between two
servers the copy is third party (the data goes straight from one to the other). Sessions are reused for
every file of a run (one per server, or per concurrent worker with -cc). The options are wrapgen.urls'
CopySettings; the copying is wrapgen.urls.copy, the same code `wrapgen.copy()` and job staging run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `url-copy`."""
    from ..settings import add_options
    from ..urls.settings import CopySettings

    p = subparsers.add_parser("url-copy", help="copy between file://, ftp://, gsiftp:// and http(s):// URLs "
                                               "(globus-url-copy's options)")
    p.add_argument("src", nargs="?")
    p.add_argument("dst", nargs="?")
    p.add_argument("-f", dest="file", type=Path, default=None, help="a file of 'SRC DST' lines to copy")
    p.add_argument("-list", dest="list_url", default=None, metavar="URL", help="list a remote directory")
    add_options(p, CopySettings)
    p.set_defaults(func=_run)


def _jobs(args: argparse.Namespace) -> list[tuple]:
    from ..urls.url import parse_url

    if args.file is not None:
        if args.src or args.dst:
            raise UsageError("-f FILE takes the place of SRC and DST")
        try:
            text = args.file.read_text()
        except OSError as exc:
            raise UsageError(f"-f {args.file}: {exc.strerror}") from None
        jobs = []
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2:
                raise UsageError(f"{args.file}:{lineno}: expected 'SRC DST', got {raw!r}")
            jobs.append((parse_url(parts[0]), parse_url(parts[1])))
        return jobs
    if not args.src or not args.dst:
        raise UsageError("give SRC and DST (or -f FILE, or -list URL)")
    return [(parse_url(args.src), parse_url(args.dst))]


def _run(args: argparse.Namespace) -> int:
    from ..settings import from_args
    from ..urls.copy import copy_all
    from ..urls.registry import Stores
    from ..urls.settings import CopySettings
    from ..urls.url import parse_url

    settings = from_args(CopySettings, args)
    # A url-copy agent (wrapgen.urls.agent) lends its stores, sessions open from earlier runs; otherwise this run's own.
    stores_for = getattr(args, "stores_for", None)
    with (stores_for(settings) if stores_for is not None else Stores(settings)) as stores:
        if args.list_url:
            u = parse_url(args.list_url)
            store = stores.of(u)
            if u.local or not store.can_list:
                raise UsageError(f"-list {args.list_url}: expected an ftp:// or gsiftp:// directory URL")
            for name, st in sorted(store.list(u).items()):
                print(name + ("/" if st.kind == "dir" else ""))
            return 0
        jobs = _jobs(args)
        for src, dst in jobs:
            if src.local and dst.local:  # as globus-url-copy: a local copy is cp's job
                raise UsageError(f"{src.text} -> {dst.text}: both URLs are local; one must be ftp:// or gsiftp://")
        copy_all(stores, jobs)
    return 0
