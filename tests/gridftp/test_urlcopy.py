"""`wrapgen url-copy` between file:// and ftp:// URLs, against wrapgen's server and GCT's."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest



def url_copy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-P", "-m", "wrapgen", "url-copy", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("which", ["ours", "gct"])
def test_files_both_ways_with_parallel_streams_and_checksums(request, tmp_path, which) -> None:
    port, prefix, root = request.getfixturevalue(which)
    data = os.urandom(3 * 1024 * 1024 + 11)
    (tmp_path / "src.bin").write_bytes(data)
    url = f"ftp://127.0.0.1:{port}{prefix}"
    r = url_copy("-p", "4", "-verify-checksum", "-vb", f"file://{tmp_path}/src.bin", f"{url}/up.bin")
    assert r.returncode == 0, r.stderr
    assert f"{len(data)} bytes" in r.stdout
    assert (root / "up.bin").read_bytes() == data
    r = url_copy("-p", "2", "-verify-checksum", "-checksum-alg", "ADLER32", f"{url}/up.bin", f"file://{tmp_path}/")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "up.bin").read_bytes() == data


def test_trees_with_r_and_cd(ours, tmp_path) -> None:
    port, _, root = ours
    tree = tmp_path / "tree"
    files = {}
    for i in range(12):
        d = tree / f"a{i % 2}" / f"b{i % 3}"
        d.mkdir(parents=True, exist_ok=True)
        files[f"a{i % 2}/b{i % 3}/f{i}"] = data = os.urandom(1000 + i)
        (d / f"f{i}").write_bytes(data)
    url = f"ftp://127.0.0.1:{port}"
    r = url_copy("-r", "-cd", "-fast", f"file://{tree}/", f"{url}/t/")
    assert r.returncode == 0, r.stderr
    for name, data in files.items():
        assert (root / "t" / name).read_bytes() == data
    r = url_copy("-r", "-cd", f"{url}/t/", f"file://{tmp_path}/back/")
    assert r.returncode == 0, r.stderr
    for name, data in files.items():
        assert (tmp_path / "back" / name).read_bytes() == data


@pytest.mark.parametrize("src, dst, message", [
    ("file:///a", "file:///b", "both URLs are local"),
    ("gopher://x/a", "file:///b", "unsupported URL scheme 'gopher'"),
    ("file:///a", "http://127.0.0.1/b", "http(s) URLs can only be sources"),
    ("ftp://127.0.0.1:1/a", "file:///b", "cannot connect to 127.0.0.1:1"),
])
def test_bad_urls_are_usage_errors(src, dst, message) -> None:
    r = url_copy(src, dst)
    assert r.returncode != 0 and message in r.stderr, r.stderr


def test_a_missing_source_names_the_file(ours, tmp_path) -> None:
    port, _, _ = ours
    r = url_copy(f"ftp://127.0.0.1:{port}/nope", f"file://{tmp_path}/x")
    assert r.returncode == 1 and "/nope" in r.stderr and "550" in r.stderr, r.stderr


@pytest.mark.parametrize("which", ["ours", "gct"])
def test_r_keeps_odd_names_and_empty_directories_both_ways(request, which, tmp_path) -> None:
    """MLSD lines end in CRLF only: names with CR, FF, NEL or U+2028 survive -r (issue 11, item 21), and -r
    makes empty directories at the destination, both ways (item 22), as globus-url-copy does."""
    port, prefix, root = request.getfixturevalue(which)
    names = ["cr\rname", "ff\x0cname", "plain"]
    if which == "ours":  # GCT's server drops NEL and U+2028 from command paths (globus-url-copy fails there too)
        names += ["nel\x85name", "ls\u2028name"]

    def tree(top):
        (top / "empty").mkdir(parents=True)
        (top / "sub" / "deeper-empty").mkdir(parents=True)
        for n in names:
            (top / n).write_bytes(n.encode())

    def same(top) -> None:
        assert sorted(p.name for p in top.iterdir()) == sorted(names + ["empty", "sub"])
        for n in names:
            assert (top / n).read_bytes() == n.encode()
        assert (top / "empty").is_dir() and (top / "sub" / "deeper-empty").is_dir()

    # download: the tree made on the server's disk
    tree(root / "tree")
    remote = f"ftp://127.0.0.1:{port}{prefix}/tree/"
    r = url_copy("-r", "-cd", remote, f"file://{tmp_path}/back/")
    assert r.returncode == 0, r.stderr
    same(tmp_path / "back")
    r = url_copy("-list", remote)
    assert r.returncode == 0 and all(n in r.stdout for n in ("empty/", "plain")), r.stdout + r.stderr
    if which == "ours":  # upload
        r = url_copy("-r", "-cd", f"file://{tmp_path}/back/", f"ftp://127.0.0.1:{port}/again/")
        assert r.returncode == 0, r.stderr
        same(root / "again")
