"""A GridFTP server over several worker processes (processes=N): sessions spread over them, the limits hold
across them, a worker that dies is replaced, and globus-url-copy's concurrent sessions work."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from wrapgen.gridftp.client import Client, GridFTPError
from wrapgen.gridftp.server import Server


def _sessions_per_worker(srv: Server) -> list[int]:
    return sorted(len(w.sessions) for w in srv._pool._workers)


def test_sessions_spread_over_the_workers_and_the_limits_hold_across_them(tmp_path, wait_until) -> None:
    (tmp_path / "f").write_bytes(b"hello")
    with Server(tmp_path, anonymous=True, processes=2, max_sessions=3) as srv:
        pids = srv.worker_pids()
        assert len(pids) == 2 and os.getpid() not in pids
        a, b = (Client("127.0.0.1", srv.port, "anonymous", "x") for _ in range(2))
        assert a.size("/f") == b.size("/f") == 5
        assert _sessions_per_worker(srv) == [1, 1]  # one each: the least busy worker gets the next
        c = Client("127.0.0.1", srv.port, "anonymous", "x")
        with pytest.raises(GridFTPError, match="421 Too many sessions; try again later"):
            Client("127.0.0.1", srv.port, "anonymous", "x")  # 3 in all, whichever worker holds them
        for s in (a, b, c):
            s.close()
        wait_until(lambda: _sessions_per_worker(srv) == [0, 0], "the workers to report the ends")
        with Client("127.0.0.1", srv.port, "anonymous", "x") as d:
            assert d.size("/f") == 5
    for pid in pids:  # stop() ended them
        wait_until(lambda pid=pid: not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status")
              .read_text(), f"worker {pid} to end")


def test_per_address_limit_counts_every_worker(tmp_path) -> None:
    with Server(tmp_path, anonymous=True, processes=3, max_per_address=2) as srv:
        held = [Client("127.0.0.1", srv.port, "anonymous", "x") for _ in range(2)]
        with pytest.raises(GridFTPError, match="421 Too many sessions from your address"):
            Client("127.0.0.1", srv.port, "anonymous", "x")
        for c in held:
            c.close()


def test_a_worker_that_dies_is_replaced_and_its_sessions_freed(tmp_path, wait_until) -> None:
    (tmp_path / "f").write_bytes(b"hello")
    with Server(tmp_path, anonymous=True, processes=2, max_sessions=2) as srv:
        a, b = (Client("127.0.0.1", srv.port, "anonymous", "x") for _ in range(2))
        victim = srv.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: victim not in srv.worker_pids() and len(srv.worker_pids()) == 2, "a new worker")
        replaced = srv.worker_pids()
        time.sleep(1.0)
        assert srv.worker_pids() == replaced  # the new worker stays (it must not die with a passing thread)
        # the dead worker's session is gone (its count too: a new session fits under max_sessions=2)
        outcomes = []
        for c in (a, b):
            try:
                outcomes.append(c.size("/f"))
            except (GridFTPError, OSError):
                outcomes.append("lost")
        assert sorted(map(str, outcomes)) == ["5", "lost"]
        with Client("127.0.0.1", srv.port, "anonymous", "x") as c:
            assert c.size("/f") == 5


def test_idle_sessions_time_out_in_the_workers(tmp_path, wait_until) -> None:
    with Server(tmp_path, anonymous=True, processes=2, idle_timeout=0.5) as srv:
        c = Client("127.0.0.1", srv.port, "anonymous", "x")
        time.sleep(1.5)
        with pytest.raises((GridFTPError, OSError)):
            c.size("/")
        wait_until(lambda: _sessions_per_worker(srv) == [0, 0], "the timed-out session to be counted out")


def test_globus_url_copy_concurrent_sessions_over_workers(tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(40):
        (src / f"f{i:02d}").write_bytes(os.urandom(4096 + i))
    root = tmp_path / "root"
    root.mkdir()
    with Server(root, anonymous=True, anonymous_access="write", processes=2) as srv:
        r = subprocess.run(["globus-url-copy", "-r", "-cd", "-fast", "-cc", "4", f"file://{src}/",
                            f"ftp://127.0.0.1:{srv.port}/up/"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        r = subprocess.run(["globus-url-copy", "-fast", "-p", "4", f"ftp://127.0.0.1:{srv.port}/up/f39",
                            f"file://{tmp_path}/back"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
    for i in range(40):
        assert (root / "up" / f"f{i:02d}").read_bytes() == (src / f"f{i:02d}").read_bytes()
    assert (tmp_path / "back").read_bytes() == (src / "f39").read_bytes()


def test_a_worker_that_cannot_start_is_an_error_naming_why(tmp_path) -> None:
    srv = Server(tmp_path, anonymous=True, processes=2)
    srv._config["root"] = str(tmp_path / "gone")  # what the workers are told differs from what was checked
    with pytest.raises(GridFTPError, match=r"a server worker did not start: GridFTPError: server root .*gone is not "
                                           r"a directory"):
        srv.start()


def test_a_client_that_never_logs_in_is_cut_off_by_its_worker(tmp_path, wait_until) -> None:
    import socket

    (tmp_path / "f").write_bytes(b"hello")
    with Server(tmp_path, anonymous=True, processes=2, login_timeout=0.5, max_sessions=1) as srv:
        with socket.create_connection(("127.0.0.1", srv.port)) as s:
            s.settimeout(10)
            got = b""
            while b"No login within" not in got:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            assert got.startswith(b"220") and b"421 No login within 0.5 seconds" in got
        wait_until(lambda: _sessions_per_worker(srv) == [0, 0], "the silent session to be counted out")
        with Client("127.0.0.1", srv.port, "anonymous", "x") as c:  # max_sessions=1: the place is free again
            assert c.size("/f") == 5
