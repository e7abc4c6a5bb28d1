"""Fixtures: wrapgen's GridFTP server and GCT's globus-gridftp-server, both anonymous on 127.0.0.1."""

from __future__ import annotations

import shutil
import tempfile
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
    from wrapgen.gridftp.gct import start_gct

    root = Path(tempfile.mkdtemp(prefix="wrapgen-gct-"))
    root.chmod(0o777)  # anonymous sessions run as nobody
    proc, port = start_gct(root)
    yield port, str(root), root  # GCT paths are absolute (its -home-dir is no jail)
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(root)
