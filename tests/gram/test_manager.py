"""The job manager on the fork backend (issue 13): GRAM's states and codes, staging over real servers, cancel
anywhere, two-phase commit, ownership, and a manager killed with SIGKILL at the worst moments."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from wrapgen.gram.description import JobDescription as J
from wrapgen.gram.errors import GRAMError, JobNotFound, RSLError
from wrapgen.gram.manager import JobManager
from wrapgen.gram.state import JobState, Signal


@pytest.fixture
def manager(tmp_path):
    with JobManager(tmp_path / "state") as m:
        yield m


@pytest.fixture
def web(tmp_path):
    """An HTTP server over tmp_path/www; /slow/NAME trickles 1 kB every 50 ms (cancel and kill tests)."""
    www = tmp_path / "www"
    www.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(www), **k)

        def do_GET(self):
            if not self.path.startswith("/slow/"):
                return super().do_GET()
            data = (www / self.path[6:]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                for i in range(0, len(data), 1000):
                    self.wfile.write(data[i:i + 1000])
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", www
    httpd.shutdown()


def _states(m: JobManager, job_id: str) -> list[str]:
    return [e.as_json()["state"] for e in m.events(job_id)]


def test_a_job_runs_with_its_argv_environment_and_directory(manager, tmp_path) -> None:
    work = tmp_path / "work"
    job = manager.submit(J(executable="/bin/sh", arguments=["-c", 'printf "%s|" "$@" "$GREETING" "$PWD"', "x",
                                                            "two words", "*", "$HOME;rm"],
                           environment={"GREETING": "hi there"}, directory=str(work)))
    done = manager.wait(job.id, timeout=30)
    assert (done.job_state, done.exit_code, done.failure_code) == (JobState.DONE, 0, 0)
    out = (Path(done.control) / "stdout").read_text()
    assert out == f"two words|*|$HOME;rm|hi there|{work}|"  # argv items stay items: no shell saw them
    assert _states(manager, job.id) == ["UNSUBMITTED", "PENDING", "ACTIVE", "DONE"]


def test_exit_codes_missing_executables_and_rsl(manager, tmp_path) -> None:
    bad = manager.wait(manager.submit('&(executable=/bin/sh)(arguments=-c "exit 3")').id, timeout=30)
    assert (bad.job_state, bad.exit_code) == (JobState.DONE, 3)  # GRAM: the job ran to its end; its status is 3
    gone = manager.wait(manager.submit("&(executable=/no/such/program)").id, timeout=30)
    assert (gone.job_state, gone.failure_code) == (JobState.FAILED, 5) and "/no/such/program" in gone.cause
    (tmp_path / "noexec").write_text("#!/bin/sh\n")
    ro = manager.wait(manager.submit(J(executable=str(tmp_path / "noexec"))).id, timeout=30)
    assert ro.failure_code == 72
    with pytest.raises(RSLError) as e:
        manager.submit("&(executable=/bin/true)(bogus=1)")
    assert e.value.code == 1
    with pytest.raises(RSLError, match=r"\$\(NOPE\) is not defined"):
        manager.submit("&(executable=$(NOPE))")
    with pytest.raises(GRAMError) as e:
        manager.submit("&(executable=/bin/true)(dry_run=yes)")
    assert e.value.code == 41
    home = manager.wait(manager.submit('&(executable=/bin/echo)(arguments=$(HOME))').id, timeout=30)
    assert (Path(home.control) / "stdout").read_text().strip() == os.path.expanduser("~")


def test_count_starts_that_many_processes_and_limits_apply(manager) -> None:
    many = manager.wait(manager.submit(J(executable="/bin/sh", arguments=["-c", "echo $$"], count=3)).id, 30)
    assert len(set((Path(many.control) / "stdout").read_text().split())) == 3
    big = J(executable=sys.executable, arguments=["-c", "bytearray(400 << 20)"], max_memory=200, job_type="single")
    starved = manager.wait(manager.submit(big).id, timeout=60)
    assert starved.job_state == JobState.DONE and starved.exit_code == 1  # MemoryError under the 200 MB limit
    assert "MemoryError" in (Path(starved.control) / "stderr").read_text()


def test_cancel_while_active_and_suspend_resume(manager) -> None:
    job = manager.submit(J(executable="/bin/sleep", arguments=["60"]))
    _until(lambda: manager.get(job.id).job_state == JobState.ACTIVE)
    manager.signal(job.id, Signal.SUSPEND)
    pid = int(manager.get(job.id).native_id.split(":")[0])
    _until(lambda: _proc_state(pid) == "T")
    assert manager.get(job.id).job_state == JobState.SUSPENDED
    manager.signal(job.id, Signal.RESUME)
    _until(lambda: _proc_state(pid) in ("S", "R"))
    start = time.monotonic()
    manager.cancel(job.id)
    done = manager.wait(job.id, timeout=30)
    assert (done.job_state, done.failure_code) == (JobState.FAILED, 8)
    assert time.monotonic() - start < 10 and _proc_state(pid) is None  # the whole group is gone
    with pytest.raises(GRAMError) as e:
        manager.cancel(job.id)
    assert e.value.code == 31


def test_staging_in_and_out_over_gridftp_and_http(manager, ours, web, tmp_path) -> None:
    port, _, root = ours
    base, www = web
    (root / "in.txt").write_text("alpha\nbeta\n")
    (www / "w.txt").write_text("from the web\n")
    job = manager.submit(J(
        executable="/bin/sh", arguments=["-c", "cat in.txt w.txt > out.txt; rev in.txt"],
        file_stage_in=[(f"ftp://127.0.0.1:{port}/in.txt", "in.txt"), (f"{base}/w.txt", "w.txt")],
        file_stage_out=[("out.txt", f"ftp://127.0.0.1:{port}/results/out.txt")],
        stdout=f"ftp://127.0.0.1:{port}/results/stdout.txt", file_clean_up=["in.txt"]))
    done = manager.wait(job.id, timeout=60)
    assert done.job_state == JobState.DONE, done.cause
    assert (root / "results" / "out.txt").read_text() == "alpha\nbeta\nfrom the web\n"
    assert (root / "results" / "stdout.txt").read_text() == "ahpla\nateb\n"
    assert not (Path(done.directory) / "in.txt").exists() and (Path(done.directory) / "w.txt").exists()
    assert _states(manager, job.id) == ["UNSUBMITTED", "STAGE_IN", "PENDING", "ACTIVE", "STAGE_OUT", "DONE"]


def test_staging_failures_are_135_and_155_never_done(manager, ours, web) -> None:
    port, _, root = ours
    base, _ = web
    missing = manager.wait(manager.submit(J(executable="/bin/true", file_stage_in=[
        (f"ftp://127.0.0.1:{port}/missing.dat", "m.dat")])).id, timeout=60)
    assert (missing.job_state, missing.failure_code) == (JobState.FAILED, 135) and "missing.dat" in missing.cause
    assert "ACTIVE" not in _states(manager, missing.id)  # it never ran
    web404 = manager.wait(manager.submit(J(executable="/bin/true", file_stage_in=[(f"{base}/nope", "n")])).id, 60)
    assert web404.failure_code == 135 and "404" in web404.cause
    (root / "ro").mkdir()
    (root / "ro" / "out.txt").mkdir()  # a directory where the file should go: the store refuses
    out = manager.wait(manager.submit(J(executable="/bin/sh", arguments=["-c", "echo x > out.txt"], file_stage_out=[
        ("out.txt", f"ftp://127.0.0.1:{port}/ro/out.txt")])).id, timeout=60)
    assert (out.job_state, out.failure_code, out.exit_code) == (JobState.FAILED, 155, 0), out.cause
    lost = manager.wait(manager.submit(J(executable="/bin/true", file_stage_out=[
        ("never-written.txt", f"ftp://127.0.0.1:{port}/x.txt")])).id, timeout=60)
    assert lost.failure_code == 155 and "never-written.txt" in lost.cause


def test_cancel_during_stage_in_stops_the_transfer(manager, web) -> None:
    base, www = web
    (www / "big.bin").write_bytes(os.urandom(400_000))  # 20 s at the trickle rate
    job = manager.submit(J(executable="/bin/true", file_stage_in=[(f"{base}/slow/big.bin", "big.bin")]))
    _until(lambda: manager.get(job.id).job_state == JobState.STAGE_IN)
    time.sleep(0.3)
    start = time.monotonic()
    manager.cancel(job.id)
    done = manager.wait(job.id, timeout=30)
    assert (done.job_state, done.failure_code) == (JobState.FAILED, 8)
    assert time.monotonic() - start < 5  # the transfer in progress was stopped, not waited for


def test_two_phase_never_runs_uncommitted_and_runs_once(manager, tmp_path) -> None:
    marker = tmp_path / "ran"
    waiting = manager.submit(J(executable="/bin/sh", arguments=["-c", f"echo x >> {marker}"], two_phase=1))
    time.sleep(0.3)
    assert manager.get(waiting.id).job_state == JobState.UNSUBMITTED and not marker.exists()
    timed_out = manager.wait(waiting.id, timeout=30)
    assert (timed_out.job_state, timed_out.failure_code) == (JobState.FAILED, 111) and not marker.exists()
    job = manager.submit(J(executable="/bin/sh", arguments=["-c", f"echo x >> {marker}"], two_phase=60))
    manager.signal(job.id, Signal.COMMIT_EXTEND, 30)
    assert manager.get(job.id).commit_deadline > job.commit_deadline + 29
    manager.signal(job.id, Signal.COMMIT_REQUEST)
    assert manager.wait(job.id, timeout=30).job_state == JobState.DONE
    assert marker.read_text() == "x\n"
    with pytest.raises(GRAMError) as e:
        manager.signal(job.id, Signal.COMMIT_REQUEST)
    assert e.value.code == 133
    manager.signal(job.id, Signal.COMMIT_END)  # acknowledged: the sweeper forgets it
    _until(lambda: manager.store.get(job.id) is None)


def test_jobs_belong_to_their_submitter(manager) -> None:
    job = manager.submit(J(executable="/bin/sleep", arguments=["30"]), owner="/O=Grid/CN=Alice")
    for call in (lambda: manager.get(job.id, "/O=Grid/CN=Mallory"), lambda: manager.cancel(job.id, "/O=Grid/CN=Mallory"),
                 lambda: manager.get(job.id), lambda: manager.events(job.id, owner="/O=Grid/CN=Mallory"),
                 lambda: manager.get("../../etc", "/O=Grid/CN=Alice")):
        with pytest.raises(JobNotFound) as e:
            call()
        assert e.value.code == 156
    assert [r.id for r in manager.jobs("/O=Grid/CN=Mallory")] == []
    assert manager.get(job.id, "/O=Grid/CN=Alice").owner == "/O=Grid/CN=Alice"
    manager.cancel(job.id, "/O=Grid/CN=Alice")
    assert manager.wait(job.id, 30, owner="/O=Grid/CN=Alice").failure_code == 8


# --- kill -9 ---------------------------------------------------------------------------------------------------
_CHILD = textwrap.dedent("""
    import sys, time
    from wrapgen.gram.manager import JobManager
    from wrapgen.gram.description import JobDescription
    m = JobManager(sys.argv[1]).start()
    job = m.submit(JobDescription.model_validate_json(sys.argv[2]))
    want = sys.argv[3]
    while want not in [e.as_json()["state"] for e in m.events(job.id)]:  # reached, even if already past it
        time.sleep(0.005)
    print(job.id, flush=True)
    time.sleep(600)
""")


def _killed_manager(state: Path, desc: J, at: str) -> str:
    """A manager in another process submits desc and is killed with SIGKILL once the job reaches state `at`."""
    p = subprocess.Popen([sys.executable, "-c", _CHILD, str(state), desc.model_dump_json(), at],
                         stdout=subprocess.PIPE, text=True)
    job_id = p.stdout.readline().strip()
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert job_id, "the manager did not report its job"
    return job_id


def test_kill_9_mid_job_the_next_manager_reattaches_and_never_reruns(tmp_path) -> None:
    marker = tmp_path / "runs"
    desc = J(executable="/bin/sh", arguments=["-c", f"echo start >> {marker}; sleep 1.5; exit 4"])
    job_id = _killed_manager(tmp_path / "state", desc, "ACTIVE")
    with JobManager(tmp_path / "state") as m:
        rec = m.get(job_id)
        assert rec.job_state == JobState.ACTIVE  # still running, re-attached
        done = m.wait(job_id, timeout=30)
    assert (done.job_state, done.exit_code) == (JobState.DONE, 4)
    assert marker.read_text() == "start\n"  # run exactly once


@pytest.mark.parametrize("at", ["UNSUBMITTED", "PENDING"])
def test_kill_9_around_the_launch_runs_the_job_exactly_once(tmp_path, at) -> None:
    """Killed before, during or just after the launch (the id perhaps unrecorded): the next manager settles the
    attempt and, if it never started, launches the next one; the job runs exactly once and ends DONE."""
    marker = tmp_path / "runs"
    job_id = _killed_manager(tmp_path / "state", J(executable="/bin/sh", arguments=["-c", f"echo x >> {marker}"]),
                             at)
    with JobManager(tmp_path / "state") as m:
        done = m.wait(job_id, timeout=30)
    assert (done.job_state, done.exit_code) == (JobState.DONE, 0), done.cause
    time.sleep(0.2)  # a late first attempt would have written by now
    assert marker.read_text() == "x\n"


def test_kill_9_while_the_job_ends_unobserved(tmp_path) -> None:
    desc = J(executable="/bin/sh", arguments=["-c", "sleep 0.3; exit 7"])
    job_id = _killed_manager(tmp_path / "state", desc, "ACTIVE")
    time.sleep(0.8)  # the job ends while no manager runs
    from wrapgen.gram.store import JobStore

    assert JobStore(tmp_path / "state" / "jobs.db").get(job_id).job_state == JobState.ACTIVE  # as it was left
    with JobManager(tmp_path / "state") as m:
        done = m.wait(job_id, timeout=30)
    assert (done.job_state, done.exit_code) == (JobState.DONE, 7)


def test_a_job_whose_outcome_is_unknown_is_failed_never_done(tmp_path) -> None:
    desc = J(executable="/bin/sleep", arguments=["30"])
    job_id = _killed_manager(tmp_path / "state", desc, "ACTIVE")
    with JobManager(tmp_path / "state") as m:
        pid = int(m.get(job_id).native_id.split(":")[0])
        os.killpg(pid, signal.SIGKILL)  # the job and its wrapper die; no exit status is written
        done = m.wait(job_id, timeout=30)
    assert (done.job_state, done.failure_code) == (JobState.FAILED, 17) and "without leaving an exit status" in done.cause


def test_kill_9_mid_staging_the_next_manager_stages_again(tmp_path, web) -> None:
    base, www = web
    data = os.urandom(60_000)
    (www / "in.bin").write_bytes(data)
    desc = J(executable="/bin/sh", arguments=["-c", "md5sum in.bin"], file_stage_in=[(f"{base}/slow/in.bin", "in.bin")])
    job_id = _killed_manager(tmp_path / "state", desc, "STAGE_IN")
    with JobManager(tmp_path / "state") as m:
        done = m.wait(job_id, timeout=60)
        assert done.job_state == JobState.DONE, done.cause
        import hashlib

        assert (Path(done.control) / "stdout").read_text().split()[0] == hashlib.md5(data).hexdigest()


def test_a_launch_is_settled_exactly_once(tmp_path) -> None:
    """The manager died between starting a launch and recording the job's id: whichever of the new manager and
    fork.sh claims that attempt first decides; the attempt runs once or not at all, and the next attempt (the
    manager's relaunch) has a claim of its own, so it does run."""
    import dataclasses

    from wrapgen.gram.backends.base import Launch
    from wrapgen.gram.backends.fork import SCRIPT, ForkBackend

    marker = tmp_path / "ran"
    control = tmp_path / "c"
    control.mkdir()
    launch = Launch("j", ["/bin/sh", "-c", f"echo x >> {marker}"], tmp_path, control, dict(os.environ),
                    Path(os.devnull), control / "out", control / "err")
    b = ForkBackend()
    assert b.settle(launch) is None  # the manager claimed attempt 1 first...
    r = subprocess.run(["/bin/sh", str(SCRIPT), str(control), str(launch.claim), "/bin/sh", "-c",
                        f"echo x >> {marker}"])
    assert r.returncode == 0 and not marker.exists()  # ...so attempt 1's late script runs nothing
    assert b.settle(launch) is None  # and a second settle agrees
    second = dataclasses.replace(launch, attempt=2)
    native = b.launch(second)  # the relaunch runs
    assert b.wait(second, native, 10).exit_code == 0 and marker.read_text() == "x\n"
    third = dataclasses.replace(launch, attempt=3)
    slow = subprocess.Popen(["/bin/sh", str(SCRIPT), str(control), str(third.claim), "/bin/sh", "-c",
                             f"echo y >> {marker}; sleep 1"], start_new_session=True)
    _until(lambda: third.claim.exists() and third.claim.read_text().strip().isdigit())
    native = b.settle(third)  # the script claimed it first: the job is running and gets re-attached
    assert native is not None and int(native.split(":")[0]) == slow.pid
    assert b.wait(third, native, 10).exit_code == 0 and marker.read_text() == "x\ny\n"
    slow.wait()


def _until(cond, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def _proc_state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None
    return None if s == "Z" else s


def test_one_manager_per_state_directory(tmp_path) -> None:
    with JobManager(tmp_path / "state"):
        with pytest.raises(GRAMError, match=f"managed by pid {os.getpid()}") as e:
            JobManager(tmp_path / "state").start()  # two managers would drive the same jobs
        assert e.value.code == 124
    with JobManager(tmp_path / "state") as again:  # released when the first stopped
        assert again.jobs() == []
