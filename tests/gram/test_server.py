"""The job manager over HTTP(S) (issue 13): the JSON/RSL API, long-polling and server-sent events, hostile
requests, job contacts that survive a kill -9 of the manager, GT2-shaped command-line tools, and HTTPS with proxy
certificates and a grid-mapfile where every job belongs to its submitter."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

import wrapgen
from wrapgen.gram.client import JobClient
from wrapgen.gram.errors import GRAMError, JobNotFound, RSLError
from wrapgen.gram.job import JobFailed
from wrapgen.gram.manager import JobManager
from wrapgen.gram.server import JobServer


@pytest.fixture
def server(tmp_path):
    with JobServer(JobManager(tmp_path / "state")) as s:
        yield s


def test_submit_poll_stream_and_output(server) -> None:
    c = JobClient(server.url)
    rec = c.submit('&(executable=/bin/sh)(arguments=-c "echo to out; echo to err >&2; exit 2")')
    assert rec["contact"] == f"{server.url}/jobs/{rec['id']}" and rec["state"] == "UNSUBMITTED"
    done = c.wait(rec["contact"], timeout=30)
    assert (done["state"], done["exit_code"]) == ("DONE", 2)
    assert c.output(rec["contact"]) == b"to out\n" and c.output(rec["contact"], "stderr") == b"to err\n"
    # the same events as a server-sent event stream, in order, ending with the final state
    with requests.get(f"{rec['contact']}/events", headers={"Accept": "text/event-stream"}, stream=True,
                      timeout=30) as r:
        assert r.headers["Content-Type"] == "text/event-stream"
        states = [json.loads(line[6:])["state"] for line in r.iter_lines(decode_unicode=True)
                  if line.startswith("data: ")]
    assert states == ["UNSUBMITTED", "PENDING", "ACTIVE", "DONE"]
    assert [j["id"] for j in c.jobs()] == [rec["id"]]


def test_a_stream_follows_a_running_job_live(server) -> None:
    c = JobClient(server.url)
    rec = c.submit(["/bin/sleep", "2"])
    start = time.monotonic()
    seen = []
    with requests.get(f"{rec['contact']}/events", headers={"Accept": "text/event-stream"}, stream=True,
                      timeout=30) as r:
        for line in r.iter_lines(chunk_size=1, decode_unicode=True):
            if line.startswith("data: "):
                seen.append((json.loads(line[6:])["state"], time.monotonic() - start))
    assert [s for s, _ in seen][-2:] == ["ACTIVE", "DONE"]
    assert seen[-1][1] - seen[-2][1] >= 1.5  # ACTIVE arrived while the job ran, not with DONE at its end


def test_errors_are_json_with_grams_codes(server) -> None:
    c = JobClient(server.url)
    with pytest.raises(RSLError) as e:
        c.submit("&(executable=/bin/true)(bogus_attr=1)")
    assert e.value.code == 1 and "bogus_attr" in str(e.value)
    with pytest.raises(RSLError, match="line 1, column 23"):
        c.submit("&(executable=/bin/true")
    with pytest.raises(JobNotFound):
        c.status(f"{server.url}/jobs/0123456789abcdef01234567")
    r = requests.post(f"{server.url}/jobs", data=b'{"executable": "/bin/true", "count": 0}',
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"].startswith("count:")
    r = requests.post(f"{server.url}/jobs", data=b"{}", headers={"Content-Type": "application/xml"})
    assert r.status_code == 415
    r = requests.post(f"{server.url}/jobs", data=b"x" * (2 << 20), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    r = requests.post(f"{server.url}/jobs", data=b"\xff\xfe", headers={"Content-Type": "application/x-rsl"})
    assert r.status_code == 400
    rec = c.submit(["/bin/sleep", "20"])
    with pytest.raises(GRAMError) as e:
        c.signal(rec["contact"], "COMMIT_REQUEST")
    assert e.value.code == 133
    r = requests.post(rec["contact"] + "/signal", data=b'{"signal": "EXPLODE"}')
    assert r.status_code == 400 and "CANCEL" in r.json()["error"]
    assert requests.get(f"{server.url}/jobs/x/y/z").status_code == 404
    c.cancel(rec["contact"])
    assert c.wait(rec["contact"], timeout=30)["failure_code"] == 8


def test_slow_and_idle_clients_do_not_hold_the_server(server) -> None:
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
    half = socket.create_connection(("127.0.0.1", server.port))
    half.sendall(b"POST /jobs HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")  # and never the rest
    try:
        rec = JobClient(server.url).submit(["/bin/true"])  # still served
        assert JobClient(server.url).wait(rec["contact"], 30)["state"] == "DONE"
    finally:
        for s in idle + [half]:
            s.close()


def test_wrapgen_submit_over_http_and_locally(server) -> None:
    job = wrapgen.submit(server.url, ["/bin/echo", "over", "http"])
    assert job.result(30)["state"] == "DONE" and job.output() == b"over http\n"
    local = wrapgen.submit("fork://", '&(executable=/bin/sh)(arguments=-c "exit 9")')
    assert local.result(30)["exit_code"] == 9
    failed = wrapgen.submit(server.url, ["/no/such/program"])
    with pytest.raises(JobFailed) as e:
        failed.result(30)
    assert e.value.code == 5
    with pytest.raises(GRAMError, match="expected fork://"):
        wrapgen.submit("ssh://host", ["/bin/true"])


def test_the_job_contact_survives_a_killed_manager(tmp_path) -> None:
    state = tmp_path / "state"

    def start() -> tuple[subprocess.Popen, str]:
        p = subprocess.Popen([sys.executable, "-m", "wrapgen", "jobmanager", "--state", str(state)],
                             stdout=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        assert line.startswith("job manager at "), line
        return p, line.split()[3]

    p, url = start()
    c = JobClient(url)
    rec = c.submit(["/bin/sh", "-c", "sleep 1; echo finished"])
    p.send_signal(signal.SIGKILL)
    p.wait()
    p2, url2 = start()  # same state directory, no --port: the port it had before
    try:
        assert url2 == url
        done = JobClient(url2).wait(rec["contact"], timeout=30)
        assert done["state"] == "DONE" and JobClient(url2).output(rec["contact"]) == b"finished\n", done["cause"]
    finally:
        p2.send_signal(signal.SIGTERM)
        p2.wait(30)


def test_gt2_shaped_tools(server, tmp_path, run_cli) -> None:
    r = run_cli("globusrun", "-r", server.url, "-o", "&(executable=/bin/echo)(arguments=hello grid)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["GLOBUS_GRAM_PROTOCOL_JOB_STATE_UNSUBMITTED",
                                     "GLOBUS_GRAM_PROTOCOL_JOB_STATE_PENDING", "GLOBUS_GRAM_PROTOCOL_JOB_STATE_ACTIVE",
                                     "GLOBUS_GRAM_PROTOCOL_JOB_STATE_DONE", "hello grid"]
    (tmp_path / "job.rsl").write_text("& (executable = /bin/true)\n  (* a comment *)\n")
    assert run_cli("globusrun", "-p", "-f", str(tmp_path / "job.rsl")).stdout == "RSL Parsed Successfully...\n"
    bad = run_cli("globusrun", "-p", "&(executable=/bin/true)\n(count=x)")
    assert bad.returncode != 0 and "line 2, column 2: count = x: expected a whole number" in bad.stderr
    r = run_cli("job-run", server.url, "/bin/sh", "-c", "echo out; exit 4")
    assert (r.returncode, r.stdout) == (4, "out\n")
    contact = run_cli("job-submit", server.url, "/bin/sleep", "30").stdout.strip()
    assert run_cli("job-status", contact).stdout.strip() in ("UNSUBMITTED", "PENDING", "ACTIVE")
    assert run_cli("job-cancel", contact).returncode == 0
    assert JobClient(server.url).wait(contact, 30)["failure_code"] == 8
    r = run_cli("globusrun", "-r", server.url, "&(executable=/no/such)")
    assert r.returncode == 1 and "(error code 5)" in r.stderr
    assert run_cli("globusrun").returncode == 2
    assert run_cli("job-run", server.url).returncode == 2
    assert run_cli("jobmanager", "--tls-cert", "x.pem").returncode == 2  # no key, no CA
    r = run_cli("jobmanager", "--host", "0.0.0.0", "--state", str(tmp_path / "open"))
    assert r.returncode != 0 and "needs TLS" in r.stderr  # never an open job manager on the network
    r = run_cli("globusrun", "-r", server.url, "-o", "&(executable=/bin/echo)(arguments=committed)(two_phase=30)")
    assert r.returncode == 0 and r.stdout.endswith("committed\n"), r.stdout + r.stderr  # globusrun commits itself


# --- HTTPS, proxies, grid-mapfile ------------------------------------------------------------------------------
@pytest.fixture
def grid(tmp_path):
    """A CA, a host certificate, Alice and Mallory (both in the grid-mapfile) and Eve (not in it), each with a
    proxy; a job manager on HTTPS that maps them."""
    from wrapgen.gsi.ca import init_ca, make_request
    from wrapgen.gsi.proxy import create_proxy, load_credential, write_proxy
    from wrapgen.gsi.tls import server_context

    base = "/O=Grid/OU=wrapgen jobs"
    ca = init_ca(tmp_path / "ca", f"{base}/CN=Jobs CA")
    hkey, hreq = make_request(f"{base}/CN=localhost", tmp_path / "host", "host", ["localhost"], ["127.0.0.1"])
    ca.sign_file(hreq, tmp_path / "host" / "hostcert.pem")
    proxies = {}
    for name in ("Alice", "Mallory", "Eve"):
        key, req = make_request(f"{base}/CN={name}", tmp_path / name, "user")
        ca.sign_file(req, tmp_path / name / "usercert.pem")
        cred = load_credential(tmp_path / name / "usercert.pem", key)
        proxies[name] = str(write_proxy(create_proxy(cred, 1), tmp_path / name / "x509up"))
    gridmap = tmp_path / "grid-mapfile"
    gridmap.write_text(f'"{base}/CN=Alice" alice\n"{base}/CN=Mallory" mallory\n')
    tls = server_context(tmp_path / "host" / "hostcert.pem", hkey, ca.trust_dir)
    with JobServer(JobManager(tmp_path / "state"), tls=tls, cert_dir=str(ca.trust_dir), gridmap=str(gridmap)) as s:
        yield s, proxies, str(ca.cacert_path if hasattr(ca, "cacert_path") else ca.trust_dir), base


def test_https_jobs_belong_to_their_submitter(grid) -> None:
    server, proxies, ca, base = grid
    assert server.url.startswith("https://")
    alice = JobClient(server.url, cert=proxies["Alice"], verify=_ca_file(ca))
    mallory = JobClient(server.url, cert=proxies["Mallory"], verify=_ca_file(ca))
    rec = alice.submit(["/bin/sleep", "30"])
    assert rec["contact"].startswith("https://")
    assert alice.status(rec["contact"])["id"] == rec["id"]
    for attempt in (lambda: mallory.status(rec["contact"]), lambda: mallory.cancel(rec["contact"]),
                    lambda: mallory.events(rec["contact"]), lambda: mallory.output(rec["contact"])):
        with pytest.raises(JobNotFound):
            attempt()
    assert mallory.jobs() == [] and [j["id"] for j in alice.jobs()] == [rec["id"]]
    assert server.manager.get(rec["id"], f"{base}/CN=Alice").owner == f"{base}/CN=Alice"
    eve = JobClient(server.url, cert=proxies["Eve"], verify=_ca_file(ca))
    with pytest.raises(GRAMError, match="may not use this job manager") as e:
        eve.submit(["/bin/true"])
    assert e.value.code == 7
    with pytest.raises(GRAMError):  # no certificate at all: the handshake fails
        JobClient(server.url, verify=_ca_file(ca)).jobs()
    alice.cancel(rec["contact"])
    assert alice.wait(rec["contact"], 30)["failure_code"] == 8


def _ca_file(trust: str) -> str:
    d = Path(trust)
    return str(next(d.glob("*.0"))) if d.is_dir() else trust


def test_callbacks_push_state_changes_in_order(tmp_path) -> None:
    import http.server
    import threading

    got: list[tuple[str, dict]] = []
    fail_first = {"n": 1}

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/flaky" and fail_first["n"]:
                fail_first["n"] -= 1
                self.send_response(500)  # the first delivery fails: it is retried, and the order kept
            else:
                got.append((self.path, body))
                self.send_response(204)
            self.end_headers()

        def log_message(self, *a):
            pass

    rx = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=rx.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{rx.server_address[1]}"
    try:
        with JobServer(JobManager(tmp_path / "state", callback_allow=["127.0.0.0/8"])) as server:
            c = JobClient(server.url)
            rec = c.submit(["/bin/sleep", "0.3"])
            c.register(rec["contact"], f"{url}/all")
            c.register(rec["contact"], f"{url}/done", mask=8 | 4)
            c.register(rec["contact"], f"{url}/flaky")
            assert c.wait(rec["contact"], 30)["state"] == "DONE"
            deadline = time.monotonic() + 30
            while len([p for p, _ in got if p == "/flaky"]) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            for path, want in (("/all", ["UNSUBMITTED", "PENDING", "ACTIVE", "DONE"]), ("/done", ["DONE"]),
                               ("/flaky", ["UNSUBMITTED", "PENDING", "ACTIVE", "DONE"])):
                bodies = [b for p, b in got if p == path]
                assert [b["state"] for b in bodies] == want, (path, got)
                assert all(b["contact"] == rec["contact"] for b in bodies)
            with pytest.raises(GRAMError) as e:
                c.unregister(rec["contact"], f"{url}/never-registered")
            assert e.value.code == 78
        with JobServer(JobManager(tmp_path / "strict")) as strict:  # by default: public addresses only
            c = JobClient(strict.url)
            rec = c.submit(["/bin/true"])
            with pytest.raises(GRAMError, match="--callback-allow") as e:
                c.register(rec["contact"], f"{url}/all")
            assert e.value.code == 77
            with pytest.raises(GRAMError) as e:
                c.register(rec["contact"], "file:///etc/passwd")
            assert e.value.code == 77
    finally:
        rx.shutdown()
