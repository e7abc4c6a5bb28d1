"""globus-url-copy's other options against our server: -stripe (SPAS/SPOR), -pp -cc 4 trees, -list, -tcp-bs
(SBUF), -sync on a tree."""

from __future__ import annotations

import os
import subprocess


def guc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["globus-url-copy", *args], capture_output=True, text=True, timeout=300)


def test_stripe_pp_cc_list_tcp_bs_and_sync(ours, tmp_path) -> None:
    port, _, root = ours
    url = f"ftp://127.0.0.1:{port}"
    data = os.urandom(3 * 1024 * 1024 + 9)
    (tmp_path / "big").write_bytes(data)
    r = guc("-stripe", "-fast", "-p", "2", f"file://{tmp_path}/big", f"{url}/striped")  # SPAS
    assert r.returncode == 0, r.stderr
    r = guc("-stripe", "-fast", "-tcp-bs", "1048576", f"{url}/striped", f"file://{tmp_path}/back")  # SPOR, SBUF
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "back").read_bytes() == data
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(30):
        (tree / f"f{i:02d}").write_bytes(os.urandom(100 + i))
    r = guc("-pp", "-cc", "4", "-r", "-cd", "-fast", f"file://{tree}/", f"{url}/t/")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (root / "t").iterdir()) == sorted(p.name for p in tree.iterdir())
    r = guc("-list", f"{url}/t/")
    assert r.returncode == 0 and sorted(r.stdout.split()[1:]) == sorted(p.name for p in tree.iterdir()), r.stdout
    r = guc("-sync", "-r", "-cd", "-fast", f"{url}/t/", f"file://{tmp_path}/mirror/")
    assert r.returncode == 0, r.stderr
    (tmp_path / "mirror" / "f00").write_bytes(b"changed")  # sizes differ now: only this one is copied again
    before = (tmp_path / "mirror" / "f01").stat().st_mtime_ns
    r = guc("-sync", "-r", "-cd", "-fast", f"{url}/t/", f"file://{tmp_path}/mirror/")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "mirror" / "f00").read_bytes() == (tree / "f00").read_bytes()
    assert (tmp_path / "mirror" / "f01").stat().st_mtime_ns == before
