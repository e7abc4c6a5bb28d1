"""The url-copy agent (WRAPGEN_URL_COPY_AGENT=SECONDS): later runs are handed to it, keep their sessions, print on
their own streams and exit with their own status; it serves only its user, from a private directory."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from wrapgen.gridftp.server import Server


@pytest.fixture
def url_copy(run_cli):
    """url_copy(env, ARGS...): `wrapgen url-copy ARGS...` in a process of its own."""
    return lambda env, *args: run_cli("url-copy", *args, env=env, timeout=60)


@pytest.fixture
def setup(tmp_path, wait_until):
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_bytes(b"alpha")
    (root / "b.txt").write_bytes(b"beta")
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(run), "WRAPGEN_URL_COPY_AGENT": "4"}
    with Server(root, anonymous=True) as srv:
        yield srv, env, run / "wrapgen", tmp_path
    # the agent leaves by itself once idle (4 s): its socket goes with it
    wait_until(lambda: not list((run / "wrapgen").glob("url-copy-*.sock")), "the idle agent to exit", 20)


def test_runs_are_handed_to_the_agent_and_share_one_session(setup, url_copy, wait_until) -> None:
    srv, env, sockets, tmp = setup
    url = f"ftp://127.0.0.1:{srv.port}"
    r = url_copy(env, f"{url}/a.txt", f"file://{tmp}/first")  # runs here, and starts the agent
    assert r.returncode == 0, r.stderr
    wait_until(lambda: list(sockets.glob("url-copy-*.sock")), "the agent's socket", 20)
    assert oct(sockets.stat().st_mode & 0o777) == "0o700"
    for i, name in enumerate(["a.txt", "b.txt", "a.txt"]):
        r = url_copy(env, f"{url}/{name}", f"file://{tmp}/got{i}")
        assert r.returncode == 0, r.stderr
        assert (tmp / f"got{i}").read_bytes() == (b"alpha" if name == "a.txt" else b"beta")
    assert len(srv._sessions) == 1  # the agent's one session, kept between runs (the first run's has ended)
    r = url_copy(env, "-list", f"{url}/")
    assert r.returncode == 0 and r.stdout.split() == ["a.txt", "b.txt"]  # on the caller's own stdout
    assert len(srv._sessions) == 1


def test_failures_keep_their_status_and_message_and_drop_the_session(setup, url_copy, wait_until) -> None:
    srv, env, sockets, tmp = setup
    url = f"ftp://127.0.0.1:{srv.port}"
    assert url_copy(env, f"{url}/a.txt", f"file://{tmp}/first").returncode == 0
    wait_until(lambda: list(sockets.glob("url-copy-*.sock")), "the agent's socket", 20)
    assert url_copy(env, f"{url}/a.txt", f"file://{tmp}/second").returncode == 0
    r = url_copy(env, f"{url}/nope.txt", f"file://{tmp}/x")
    assert r.returncode == 1 and "RETR: 550 /nope.txt" in r.stderr, r.stderr
    r = url_copy(env, "-p", "0", f"{url}/a.txt", f"file://{tmp}/x")
    assert r.returncode == 2 and "-p 0: expected 1 to 64" in r.stderr
    wait_until(lambda: len(srv._sessions) == 0, "the failed run's session to close", 20)
    r = url_copy(env, f"{url}/b.txt", f"file://{tmp}/after")  # a fresh login
    assert r.returncode == 0 and (tmp / "after").read_bytes() == b"beta"


def test_a_renewed_credential_is_a_new_login(setup, url_copy, wait_until) -> None:
    srv, env, sockets, tmp = setup
    url = f"ftp://127.0.0.1:{srv.port}"
    proxy = tmp / "x509up"
    proxy.write_text("one")
    env = {**env, "X509_USER_PROXY": str(proxy)}
    assert url_copy(env, f"{url}/a.txt", f"file://{tmp}/first").returncode == 0
    wait_until(lambda: list(sockets.glob("url-copy-*.sock")), "the agent's socket", 20)
    assert url_copy(env, f"{url}/a.txt", f"file://{tmp}/second").returncode == 0
    assert len(srv._sessions) == 1
    proxy.write_text("renewed")  # another file: its sessions are not the old one's
    assert url_copy(env, f"{url}/a.txt", f"file://{tmp}/third").returncode == 0
    assert len(srv._sessions) == 2


def test_a_directory_others_can_enter_is_not_used(tmp_path, url_copy) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_bytes(b"alpha")
    run = tmp_path / "run"
    (run / "wrapgen").mkdir(parents=True)
    (run / "wrapgen").chmod(0o755)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(run), "WRAPGEN_URL_COPY_AGENT": "4"}
    with Server(root, anonymous=True) as srv:
        for i in range(2):
            r = url_copy(env, f"ftp://127.0.0.1:{srv.port}/a.txt", f"file://{tmp_path}/c{i}")
            assert r.returncode == 0 and (tmp_path / f"c{i}").read_bytes() == b"alpha", r.stderr
        time.sleep(1.0)
        assert list((run / "wrapgen").iterdir()) == []  # no socket: no agent in a directory others can enter


def test_a_run_whose_caller_is_killed_stops_and_frees_the_agent(setup, url_copy, wait_until) -> None:
    import http.server
    import signal
    import threading

    srv, env, sockets, tmp = setup
    hung_up = threading.Event()

    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # 10 MB at 20 bytes a second: days, unless the reader goes away
            self.send_response(200)
            self.send_header("Content-Length", str(10 << 20))
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                hung_up.set()

        def log_message(self, *args: object) -> None:
            pass

    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        url = f"ftp://127.0.0.1:{srv.port}"
        assert url_copy(env, f"{url}/a.txt", f"file://{tmp}/first").returncode == 0
        wait_until(lambda: list(sockets.glob("url-copy-*.sock")), "the agent's socket", 20)
        slow = subprocess.Popen([sys.executable, "-P", "-m", "wrapgen", "url-copy",
                                 f"http://127.0.0.1:{web.server_address[1]}/big", f"file://{tmp}/big"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        assert slow.poll() is None  # still trickling, in the agent
        slow.send_signal(signal.SIGKILL)
        slow.wait()
        wait_until(hung_up.is_set, "the agent to drop the download of the caller that went away", 20)
        r = url_copy(env, f"{url}/b.txt", f"file://{tmp}/next")  # the agent is free for the next run
        assert r.returncode == 0 and (tmp / "next").read_bytes() == b"beta", r.stderr
    finally:
        web.shutdown()


def test_malformed_requests_are_ignored_and_the_agent_goes_on(setup, url_copy, wait_until) -> None:
    import marshal
    import socket

    srv, env, sockets, tmp = setup
    url = f"ftp://127.0.0.1:{srv.port}"
    assert url_copy(env, f"{url}/a.txt", f"file://{tmp}/first").returncode == 0
    wait_until(lambda: list(sockets.glob("url-copy-*.sock")), "the agent's socket", 20)
    path = str(next(sockets.glob("url-copy-*.sock")))
    good = {"argv": ["url-copy", f"{url}/a.txt", f"file://{tmp}/evil"], "cwd": "/", "env": {}}
    bad = [b"garbage",  # not marshal data
           marshal.dumps({"argv": "url-copy", "cwd": "/", "env": {}}),  # argv not a list
           marshal.dumps({**good, "env": {"X509_USER_PROXY": 7}}),  # a variable that is not text
           marshal.dumps([1, 2, 3])]
    with open(os.devnull, "rb") as null:
        for body in bad:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(path)
                socket.send_fds(s, [len(body).to_bytes(4, "big") + body], [null.fileno()] * 3)
                assert s.recv(64) == b""  # no status: the request was not run
        with socket.socket(socket.AF_UNIX) as s:  # a length that promises more than comes, then silence
            s.connect(path)
            socket.send_fds(s, [(1000).to_bytes(4, "big") + b"xx"], [null.fileno()] * 3)
            s.shutdown(socket.SHUT_WR)
            assert s.recv(64) == b""
        with socket.socket(socket.AF_UNIX) as s:  # a good request without its three streams
            s.connect(path)
            body = marshal.dumps(good)
            s.sendall(len(body).to_bytes(4, "big") + body)
            assert s.recv(64) == b""
    assert not (tmp / "evil").exists()
    r = url_copy(env, f"{url}/b.txt", f"file://{tmp}/after")  # the same agent still serves
    assert r.returncode == 0 and (tmp / "after").read_bytes() == b"beta", r.stderr
    assert len(srv._sessions) == 1  # ...with the session it kept: it did not restart
