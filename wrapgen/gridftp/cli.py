"""`wrapgen gridftp-server` and `wrapgen gridftp-passwd`."""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the GridFTP commands."""
    p = subparsers.add_parser("gridftp-server", help="serve a directory over GridFTP (jailed to it)")
    p.add_argument("--root", type=Path, required=True, help="the directory clients see as /")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=2811)
    p.add_argument("--anonymous", action="store_true", help="allow anonymous logins (off by default)")
    p.add_argument("--password-file", type=Path, default=None, help="users and salted password hashes")
    p.add_argument("--port-range", default=None, metavar="LOW,HIGH", help="data ports (default: any free port)")
    p.add_argument("--gsi", action="store_true",
                   help="accept GSI logins (AUTH GSSAPI): host credential, trust directory and grid-mapfile from "
                        "the options below or GCT's defaults ($X509_USER_CERT/KEY, $X509_CERT_DIR, $GRIDMAP)")
    p.add_argument("--host-cert", type=Path, default=None, help="GSI host certificate")
    p.add_argument("--host-key", type=Path, default=None, help="GSI host key")
    p.add_argument("--cert-dir", type=Path, default=None, help="trusted CAs (X509_CERT_DIR layout)")
    p.add_argument("--gridmap", type=Path, default=None, help="grid-mapfile: DNs to accounts")
    p.add_argument("--sync", action="store_true",
                   help="fsync each stored file before reporting success (survives a power cut; slower)")
    p.add_argument("--anonymous-access", choices=("read", "write", "full"), default=None,
                   help="what anonymous sessions may do: read (the default), write (upload new files and change "
                        "only what the session wrote), full (anything the server's account may; a private scratch server)")
    p.add_argument("--anonymous-write", action="store_const", const="write", dest="anonymous_access",
                   help="the same as --anonymous-access write")
    p.add_argument("--login-timeout", type=float, default=120.0, metavar="S",
                   help="seconds a connection may take to log in (default 120, as GCT's preauth timeout)")
    p.add_argument("--idle-timeout", type=float, default=600.0, metavar="S",
                   help="seconds a logged-in session may stay silent between commands (default 600)")
    p.add_argument("--data-timeout", type=float, default=300.0, metavar="S",
                   help="seconds a transfer may go without data on its connections before it ends (default 300)")
    p.add_argument("--max-sessions", type=int, default=256, help="sessions at once (default 256)")
    p.add_argument("--max-per-address", type=int, default=32,
                   help="sessions at once from one client address (default 32)")
    p.add_argument("--max-file-size", type=int, default=1 << 40, metavar="BYTES",
                   help="largest file an upload may make, offsets included (default 1 TiB)")
    p.set_defaults(func=_serve)
    w = subparsers.add_parser("gridftp-passwd", help="add or change a user in a GridFTP password file")
    w.add_argument("file", type=Path)
    w.add_argument("user")
    w.add_argument("--home", default="", help="the user's root, relative to the server root")
    w.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    w.set_defaults(func=_passwd)


def _serve(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from .server import Server

    port_range = None
    if args.port_range:
        try:
            low, high = (int(x) for x in args.port_range.split(","))
            if not 1024 <= low <= high <= 65535:
                raise ValueError
        except ValueError:
            raise UsageError(f"--port-range {args.port_range!r}: expected LOW,HIGH within 1024-65535") from None
        port_range = (low, high)
    gsi = None
    if args.gsi:
        from .security import GSIConfig

        gsi = GSIConfig(args.host_cert, args.host_key, args.cert_dir, args.gridmap)
    elif any((args.host_cert, args.host_key, args.cert_dir, args.gridmap)):
        raise UsageError("--host-cert, --host-key, --cert-dir and --gridmap need --gsi")
    if args.anonymous_access and not args.anonymous:
        raise UsageError("--anonymous-access and --anonymous-write need --anonymous")
    srv = Server(args.root, args.host, args.port, args.anonymous, args.password_file, port_range,
                 max_sessions=args.max_sessions, sync=args.sync, gsi=gsi, login_timeout=args.login_timeout,
                 idle_timeout=args.idle_timeout, data_timeout=args.data_timeout,
                 max_per_address=args.max_per_address, max_file_size=args.max_file_size,
                 anonymous_access=args.anonymous_access or "read").start()
    print(f"serving {srv.root} at {'gsiftp' if gsi else 'ftp'}://{args.host}:{srv.port}/", flush=True)
    stopped: list[Any] = []
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(1))
    try:
        while not stopped:
            signal.pause()
    except KeyboardInterrupt:
        pass
    srv.stop()
    return 0


def _passwd(args: argparse.Namespace) -> int:
    from .auth import set_password

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass(f"password for {args.user}: ")
    set_password(args.file, args.user, password, args.home)
    print(f"{args.user} set in {args.file}")
    return 0
