"""MODE E against globus-url-copy: parallel data connections (-p), cached channels (-fast) over many files,
recursive copies listed over MODE E, and the native block codec against hand-made block streams."""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import subprocess
import tempfile

import pytest

from wrapgen import _core
from wrapgen.gridftp.server import Server


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    with Server(root, anonymous=True, anonymous_access="full") as srv:
        srv.test_root = root
        yield srv


def guc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["globus-url-copy", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("parallel", ["1", "4", "8"])
@pytest.mark.parametrize("size", [0, 1, 1024 * 1024 + 1, 16 * 1024 * 1024 + 3])
def test_parallel_get_and_put(server, tmp_path, parallel, size) -> None:
    data = os.urandom(size)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    url = f"ftp://127.0.0.1:{server.port}"
    r = guc("-fast", "-p", parallel, f"file://{src}", f"{url}/put.bin")
    assert r.returncode == 0, r.stderr
    assert (server.test_root / "put.bin").read_bytes() == data
    r = guc("-fast", "-p", parallel, "-verify-checksum", f"{url}/put.bin", f"file://{tmp_path}/got.bin")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "got.bin").read_bytes() == data


def test_many_files_over_cached_channels_and_a_recursive_copy(server, tmp_path) -> None:
    tree = tmp_path / "tree"
    files = {}
    for i in range(60):
        d = tree / f"d{i % 3}"
        d.mkdir(parents=True, exist_ok=True)
        files[f"d{i % 3}/f{i}"] = data = os.urandom(4096 + i)
        (d / f"f{i}").write_bytes(data)
    url = f"ftp://127.0.0.1:{server.port}"
    r = guc("-r", "-cd", "-fast", "-p", "4", f"file://{tree}/", f"{url}/tree/")
    assert r.returncode == 0, r.stderr
    for name, data in files.items():
        assert (server.test_root / "tree" / name).read_bytes() == data
    r = guc("-r", "-cd", "-fast", "-p", "2", f"{url}/tree/", f"file://{tmp_path}/back/")  # MLSD over MODE E
    assert r.returncode == 0, r.stderr
    for name, data in files.items():
        assert (tmp_path / "back" / name).read_bytes() == data


def _block(desc: int, data: bytes, offset: int) -> bytes:
    return struct.pack(">BQQ", desc, len(data), offset) + data


def test_the_block_codec_against_hand_made_streams() -> None:
    a, b = socket.socketpair()
    with tempfile.TemporaryFile() as f:
        stream = (_block(0, b"world", 6) + _block(16, b"0-5", 0) + _block(0, b"hello ", 0)
                  + _block(8 | 64, b"", 1))  # EOD and EOF (one connection expected)
        a.sendall(stream)
        n, eod, expected, closed, end = _core.modee_receive(b.fileno(), f.fileno())
        assert (n, eod, expected, closed, end) == (11, True, 1, False, 11)
        f.seek(0)
        assert f.read() == b"hello world"
        a.sendall(struct.pack(">BQQ", 0, 100, 0) + b"short")  # a block cut short by a close
        a.close()
        with pytest.raises(RuntimeError, match="closed in the middle of a block"):
            _core.modee_receive(b.fileno(), f.fileno())
    b.close()
    a, b = socket.socketpair()
    with tempfile.TemporaryFile() as f:
        a.sendall(_block(0, b"x" * 10, 2**40))
        with pytest.raises(RuntimeError, match="exceed the allowed file size"):
            _core.modee_receive(b.fileno(), f.fileno(), 0, 2**30)
    a.close()
    b.close()


def test_the_sender_splits_blocks_over_connections_and_ends_with_eod_and_eof() -> None:
    pairs = [socket.socketpair() for _ in range(3)]
    data = os.urandom(5 * 1024 + 17)
    with tempfile.TemporaryFile() as f:
        f.write(data)
        f.flush()
        sent = _core.modee_send([p[0].fileno() for p in pairs], f.fileno(), 0, len(data), 1024, 0)
    assert sent == len(data)
    out = bytearray(len(data))
    eods, expected = 0, None
    for s, r in pairs:
        s.close()
        buf = b""
        while chunk := r.recv(65536):
            buf += chunk
        i = 0
        while i < len(buf):
            desc, count, offset = struct.unpack(">BQQ", buf[i:i + 17])
            i += 17
            if desc & 64:
                expected = offset
            else:
                out[offset:offset + count] = buf[i:i + count]
            i += count
            eods += bool(desc & 8)
        r.close()
    assert bytes(out) == data and eods == 3 and expected == 3
    assert hashlib.sha256(out).digest() == hashlib.sha256(data).digest()
