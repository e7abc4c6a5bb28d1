"""The Slurm backend against a real one-node Slurm (slurm-wlm + munge) the tests start on 127.0.0.1."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from wrapgen.gram.description import JobDescription as J
from wrapgen.gram.manager import JobManager
from wrapgen.gram.state import JobState


@pytest.fixture
def manager(slurm, tmp_path, monkeypatch):
    for k, v in slurm.items():
        monkeypatch.setenv(k, v)
    with JobManager(tmp_path / "state", "slurm") as m:
        yield m


def test_a_job_runs_through_sbatch(manager, tmp_path) -> None:
    job = manager.submit(J(executable="/bin/sh", arguments=["-c", 'echo "$1|$SLURM_JOB_ID|$PWD"', "x", "two words"],
                           directory=str(tmp_path / "work"), count=2))
    done = manager.wait(job.id, timeout=120)
    assert (done.job_state, done.exit_code) == (JobState.DONE, 0), done.cause
    lines = (Path(done.control) / "stdout").read_text().splitlines()
    assert lines == [f"two words|{done.native_id}|{tmp_path / 'work'}"] * 2
    failing = manager.wait(manager.submit(J(executable="/bin/sh", arguments=["-c", "exit 5"])).id, timeout=120)
    assert (failing.job_state, failing.exit_code) == (JobState.DONE, 5)
    # the backend's own RSL attributes (data/slurm.rvf) become #SBATCH options
    rsl = manager.submit("&(executable=/bin/true)(queue=debug)(slurm_constraint=nosuchfeature)")
    refused = manager.wait(rsl.id, timeout=120)
    assert refused.job_state == JobState.FAILED and "feature" in refused.cause.lower(), refused.cause
    assert "#SBATCH --constraint=nosuchfeature" in (Path(refused.control) / "job.sbatch").read_text()


def test_cancel_and_scancel_outside_wrapgen(manager, slurm) -> None:
    mine = manager.submit(J(executable="/bin/sleep", arguments=["60"]))
    theirs = manager.submit(J(executable="/bin/sleep", arguments=["60"]))
    for j in (mine, theirs):
        _until(lambda j=j: manager.get(j.id).job_state == JobState.ACTIVE)
    _until(lambda: _slurm_state(slurm, manager.get(theirs.id).native_id) == "RUNNING")
    manager.cancel(mine.id)
    subprocess.run(["scancel", manager.get(theirs.id).native_id], check=True, env=slurm)
    a, b = manager.wait(mine.id, timeout=120), manager.wait(theirs.id, timeout=120)
    assert (a.job_state, a.failure_code) == (JobState.FAILED, 8)
    assert (b.job_state, b.failure_code) == (JobState.FAILED, 9) and "scancel" in b.cause


def test_a_missing_executable_fails_and_a_killed_manager_reattaches(slurm, tmp_path, monkeypatch) -> None:
    for k, v in slurm.items():
        monkeypatch.setenv(k, v)
    marker = tmp_path / "runs"
    m = JobManager(tmp_path / "state", "slurm").start()
    job = m.submit(J(executable="/bin/sh", arguments=["-c", f"echo x >> {marker}; sleep 2; exit 3"]))
    _until(lambda: m.get(job.id).job_state == JobState.ACTIVE)
    m.stop()  # as if killed: nothing of the job is touched
    with JobManager(tmp_path / "state", "slurm") as again:
        done = again.wait(job.id, timeout=120)
        assert (done.job_state, done.exit_code) == (JobState.DONE, 3)
        gone = again.wait(again.submit(J(executable="/no/such/program")).id, timeout=120)
    assert marker.read_text() == "x\n"
    assert (gone.job_state, gone.failure_code) == (JobState.FAILED, 5) and "/no/such/program" in gone.cause


def _slurm_state(env, native: str) -> str:
    return subprocess.run(["squeue", "-h", "-t", "all", "-j", native, "-o", "%T"], capture_output=True, text=True,
                          env=env).stdout.strip()


def _until(cond, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)
