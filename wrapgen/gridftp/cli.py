"""`wrapgen gridftp-server` and `wrapgen gridftp-passwd`."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the GridFTP commands."""
    from ..settings import add_options
    from .settings import ServerSettings

    p = subparsers.add_parser("gridftp-server", help="serve a directory over GridFTP (jailed to it)")
    add_options(p, ServerSettings)
    p.add_argument("--anonymous-write", action="store_const", const="write", dest="anonymous_access",
                   help="the same as --anonymous-access write")
    p.set_defaults(func=_serve)
    w = subparsers.add_parser("gridftp-passwd", help="add or change a user in a GridFTP password file")
    w.add_argument("file", type=Path)
    w.add_argument("user")
    w.add_argument("--home", default="", help="the user's root, relative to the server root")
    w.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    w.set_defaults(func=_passwd)


def _serve(args: argparse.Namespace) -> int:
    from ..settings import from_args
    from .server import Server
    from .settings import ServerSettings

    settings = from_args(ServerSettings, args)
    srv = Server.from_settings(settings).start()
    gsi = settings.gsi
    print(f"serving {srv.root} at {'gsiftp' if gsi else 'ftp'}://{settings.host}:{srv.port}/", flush=True)
    from ..proc import wait_for_stop

    wait_for_stop()
    srv.stop()
    return 0


def _passwd(args: argparse.Namespace) -> int:
    from .auth import set_password

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass(f"password for {args.user}: ")
    set_password(args.file, args.user, password, args.home)
    print(f"{args.user} set in {args.file}")
    return 0
