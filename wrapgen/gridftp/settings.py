"""ServerSettings: what `wrapgen gridftp-server` serves and its limits (Server.from_settings takes it)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Literal


from ..settings import Settings, option


def port_range(text: str) -> tuple[int, int]:
    """LOW,HIGH within 1024-65535."""
    try:
        low, high = (int(x) for x in text.split(","))
        if not 1024 <= low <= high <= 65535:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected LOW,HIGH within 1024-65535") from None
    return low, high


class ServerSettings(Settings):
    """A GridFTP server: its root, who may log in, and the limits against clients that hold what they do not use
    (GCT's control timeouts as the model)."""

    root: Path = option(..., "--root", help="the directory clients see as /")
    host: str = option("127.0.0.1", "--host", help="address to bind (default 127.0.0.1)")
    port: int = option(2811, "--port", help="port (0 picks a free one; default 2811)", ge=0, le=65535)
    anonymous: bool = option(False, "--anonymous", help="allow anonymous logins (off by default)")
    password_file: Path | None = option(None, "--password-file", help="users and salted password hashes")
    port_range: tuple[int, int] | None = option(None, "--port-range", metavar="LOW,HIGH", parse=port_range,
                                                help="data ports (default: any free port)")
    gsi: bool = option(False, "--gsi", help="accept GSI logins (AUTH GSSAPI): host credential, trust directory and "
                                            "grid-mapfile from the options below or GCT's defaults "
                                            "($X509_USER_CERT/KEY, $X509_CERT_DIR, $GRIDMAP)")
    host_cert: Path | None = option(None, "--host-cert", help="GSI host certificate")
    host_key: Path | None = option(None, "--host-key", help="GSI host key")
    cert_dir: Path | None = option(None, "--cert-dir", help="trusted CAs (X509_CERT_DIR layout)")
    gridmap: Path | None = option(None, "--gridmap", help="grid-mapfile: DNs to accounts")
    sync: bool = option(False, "--sync", help="fsync each stored file before reporting success (survives a power "
                                              "cut; slower)")
    anonymous_access: Literal["read", "write", "full"] | None = option(
        None, "--anonymous-access",
        help="what anonymous sessions may do: read (the default), write (upload new files and change only what the "
             "session wrote), full (anything the server's account may; a private scratch server)")
    login_timeout: float = option(120.0, "--login-timeout", metavar="S", gt=0,
                                  help="seconds a connection may take to log in (default 120, as GCT's preauth "
                                       "timeout)")
    idle_timeout: float = option(600.0, "--idle-timeout", metavar="S", gt=0,
                                 help="seconds a logged-in session may stay silent between commands (default 600)")
    data_timeout: float = option(300.0, "--data-timeout", metavar="S", gt=0,
                                 help="seconds a transfer may go without data on its connections before it ends "
                                      "(default 300)")
    max_sessions: int = option(256, "--max-sessions", help="sessions at once (default 256)", ge=1)
    max_per_address: int = option(32, "--max-per-address", ge=1,
                                  help="sessions at once from one client address (default 32)")
    processes: int = option(1, "--processes", metavar="N", ge=1, le=256,
                            help="worker processes the sessions are spread over (default 1; the number of cores "
                                 "for many concurrent sessions: one process runs Python under one lock)")
    max_file_size: int = option(1 << 40, "--max-file-size", metavar="BYTES", ge=1,
                                help="largest file an upload may make, offsets included (default 1 TiB)")
    log_transfer: str | None = option(None, "--log-transfer", "-Z", metavar="FILE",
                                      help="one NetLogger (BP) .start/.end pair per transfer: user, file, bytes, "
                                           "streams, seconds, reply (GCT's -log-transfer)")

    def check(self) -> None:
        """Raise ValueError if the options do not go together."""
        if not self.gsi and any((self.host_cert, self.host_key, self.cert_dir, self.gridmap)):
            raise ValueError("--host-cert, --host-key, --cert-dir and --gridmap need --gsi")
        if self.anonymous_access and not self.anonymous:
            raise ValueError("--anonymous-access and --anonymous-write need --anonymous")
