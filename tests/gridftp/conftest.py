"""Fixtures: wrapgen's GridFTP server and GCT's globus-gridftp-server, both anonymous on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from wrapgen.gridftp.server import Server


@pytest.fixture
def ours(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    with Server(root, anonymous=True) as srv:
        yield srv.port, "", root


@pytest.fixture
def gct():
    root = Path(tempfile.mkdtemp(prefix="wrapgen-gct-"))
    root.chmod(0o777)  # anonymous sessions run as nobody
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["globus-gridftp-server", "-p", str(port), "-aa", "-home-dir", str(root), "-control-interface",
            "127.0.0.1", "-data-interface", "127.0.0.1", "-d", "error"]
    if os.getuid() == 0:
        args[3:3] = ["-anonymous-user", "nobody"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port, str(root), root  # GCT paths are absolute (its -home-dir is no jail)
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(root)
