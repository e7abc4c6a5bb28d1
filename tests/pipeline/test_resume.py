"""kill -9 of the driver at random instants, then the same command again: no unlock, no special flag, no finished
step executed twice (counted by the kernel itself, in the jobs' own processes), running jobs re-attached."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from wrapgen.pipeline.engine import run

from .conftest import write

STEPS, CHAINS, KILLS = 100, 10, 20


def pipeline(target: str) -> str:
    """10 chains of 10 tally jobs: s<k> adds k to s<k-10>'s result; each sleeps 50 ms in the kernel."""
    lines = [f"pipeline: resume\ndefaults: {{job: '{target}', retries: 2}}\nsteps:"]
    for k in range(STEPS):
        wire = f"inputs: {{x: s{k - CHAINS}}}, " if k >= CHAINS else ""
        lines.append(f"  s{k}: {{compute: 'tally.yaml#tally', {wire}params: {{i: {k}, ms: 50}}}}")
    return "\n".join(lines) + "\n"


def expected(k: int) -> float:
    return float(sum(range(k % CHAINS, k + 1, CHAINS)))


def kill_and_resume(workdir, tally, target: str, env: dict[str, str], seed: int) -> None:
    p = write(workdir / "resume.yaml", pipeline(target))
    rng = random.Random(seed)
    argv = [sys.executable, "-m", "wrapgen", "run", "-q", "-j", "8", str(p)]
    environ = {**os.environ, **env}
    killed_mid_run = 0
    for _ in range(KILLS):
        driver = subprocess.Popen(argv, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  start_new_session=False)
        time.sleep(rng.uniform(0.3, 2.5))
        if driver.poll() is None:
            driver.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        driver.wait(60)
        if sum(tally.counts().values()) == STEPS:
            break
    final = subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=900)
    assert final.returncode == 0, final.stderr
    assert killed_mid_run >= 3, "the driver was never killed mid-run: the test did not test anything"
    counts = tally.counts()
    twice = {i: n for i, n in counts.items() if n != 1}
    assert not twice, f"steps executed more than once: {twice}"
    assert sorted(counts) == list(range(STEPS))
    db = sqlite3.connect(workdir / ".wrapgen" / "resume" / "journal.db")
    attached = db.execute("SELECT COUNT(*) FROM attempts WHERE event = 'attached'").fetchone()[0]
    db.close()
    assert attached >= 1, "no job was ever re-attached: the kills all fell between jobs"
    r = run(p, workers=8)
    assert r.ran == [] and r.counts() == {"cached": STEPS}
    assert [json.loads(r.output(f"s{k}").read_text()) for k in range(STEPS)] == [expected(k) for k in range(STEPS)]


def test_kill_minus_9_anywhere_on_fork(workdir, tally) -> None:
    kill_and_resume(workdir, tally, "fork://", {}, seed=1)


def test_kill_minus_9_anywhere_on_slurm(workdir, tally, slurm, monkeypatch) -> None:
    for k, v in slurm.items():
        monkeypatch.setenv(k, v)
    kill_and_resume(workdir, tally, "slurm://", dict(slurm), seed=2)


@pytest.mark.parametrize("n", [3])
def test_a_killed_in_process_run_reruns_only_what_had_not_finished(workdir, tally, n) -> None:
    text = "pipeline: local\nsteps:\n" + "".join(
        f"  s{k}: {{compute: 'tally.yaml#tally', params: {{i: {k}, ms: 400}}}}\n" for k in range(8))
    p = write(workdir / "local.yaml", text)
    driver = subprocess.Popen([sys.executable, "-m", "wrapgen", "run", "-q", "-j", "2", str(p)])
    deadline = time.monotonic() + 60
    while sum(tally.counts().values()) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    driver.kill()
    driver.wait()
    before = tally.counts()
    r = run(p)
    assert r.ok
    # steps that had finished before the kill are cached; only those in flight or not started run
    assert len(r.ran) == 8 - sum(1 for n in r.nodes.values() if n.status == "cached")
    assert all(before[int(name[1:])] == 1 for name, res in r.nodes.items() if res.status == "cached")


def test_sigterm_cancels_jobs_and_transfers_and_the_next_run_resumes(workdir, tally) -> None:
    text = ("pipeline: cancel\ndefaults: {job: 'fork://'}\nsteps:\n"
            + "".join(f"  s{k}: {{compute: 'tally.yaml#tally', params: {{i: {k}, ms: 20000}}}}\n" for k in range(3))
            + "  quick: {compute: 'tally.yaml#tally', params: {i: 9}, job: null}\n")
    p = write(workdir / "cancel.yaml", text)
    driver = subprocess.Popen([sys.executable, "-m", "wrapgen", "run", "-j", "4", str(p)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(tally.counts()) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    t = time.monotonic()
    driver.send_signal(signal.SIGTERM)
    out, err = driver.communicate(timeout=60)
    assert time.monotonic() - t < 15, "the jobs (20 s each) were waited for instead of cancelled"
    assert driver.returncode == 128 + signal.SIGTERM, err
    assert "cancelling" in err and "cancelled: run the same command again to resume" in out
    db = sqlite3.connect(workdir / ".wrapgen" / "cancel" / "jobs" / "fork-local" / "jobs.db")
    states = db.execute("SELECT state, failure_code FROM jobs").fetchall()
    db.close()
    assert len(states) == 3 and {code for _, code in states} == {8}  # GRAM's "cancelled by the user"
    r = run(write(p, text.replace("ms: 20000", "ms: 10")))
    assert r.ok and sorted(r.ran) == ["s0", "s1", "s2"]  # quick was done before the cancel
