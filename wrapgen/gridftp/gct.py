"""The Grid Community Toolkit's GridFTP server as a peer: started on 127.0.0.1 (anonymous or GSI) for interop
tests and benchmarks (Debian globus-gridftp-server-progs)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from .errors import GridFTPError


def start_gct(root: str | os.PathLike[str], timeout: float = 10.0, gsi: dict[str, str] | None = None,
              log: str | os.PathLike[str] | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """Start globus-gridftp-server on a free port of 127.0.0.1; (process, port).

    Anonymous (as nobody when run as root) by default; with gsi={"X509_CERT_DIR", "X509_USER_CERT",
    "X509_USER_KEY", "GRIDMAP"} a GSI server. GCT's -home-dir is only the starting directory, not a jail:
    its paths are absolute. A GSI server run as root reads the trust directory again as the mapped account,
    so that directory must be readable by it.
    """
    if shutil.which("globus-gridftp-server") is None:
        raise GridFTPError("globus-gridftp-server is not installed (Debian: globus-gridftp-server-progs)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["globus-gridftp-server", "-p", str(port), "-home-dir", str(Path(root)), "-control-interface",
            "127.0.0.1", "-data-interface", "127.0.0.1", "-d", "error"]
    if log is not None:
        args += ["-l", str(log)]
    env = dict(os.environ)
    if gsi is not None:
        env.update(gsi)
    else:
        args.insert(1, "-aa")
        if os.getuid() == 0:
            args[2:2] = ["-anonymous-user", "nobody"]  # GCT refuses to serve anonymous users as root
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise GridFTPError(f"globus-gridftp-server did not start on port {port}") from None
            time.sleep(0.1)
