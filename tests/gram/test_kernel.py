"""Kernel jobs (issue 13): a spec's function as a job whose inputs and outputs are URLs; the result equals the
local call."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import wrapgen
from wrapgen.gram.description import JobDescription
from wrapgen.gram.errors import GRAMError
from wrapgen.gram.job import JobFailed
from wrapgen.gram.kernel import kernel_job

HEAT = Path(__file__).resolve().parents[2] / "services" / "heat.yaml"


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def test_a_kernel_job_stages_over_gridftp_and_equals_the_local_call(ours) -> None:
    port, _, root = ours
    u = np.zeros((6, 7))
    u[3, 3] = 100.0
    (root / "u.npy").write_bytes(_npy(u))
    params = {"alpha": 0.1, "dt": 0.5, "dx": 1.0, "nsteps": 4}
    job = kernel_job(HEAT, "heat_step", inputs={"u": f"ftp://127.0.0.1:{port}/u.npy"},
                     outputs={"u": f"ftp://127.0.0.1:{port}/results/u.npy"}, params=params)
    assert JobDescription.from_rsl(job.to_rsl()) == job  # the RSL any GRAM job manager can run
    rec = wrapgen.submit("fork://", job).result(300)
    assert (rec["state"], rec["exit_code"]) == ("DONE", 0), rec["cause"]
    local = np.asfortranarray(u.copy())
    wrapgen.load(HEAT).heat_step(local, **params)
    assert np.array_equal(np.load(root / "results" / "u.npy"), local)


def test_kernel_failures_reach_the_caller(ours, run_cli, tmp_path) -> None:
    port, _, root = ours
    (root / "u.npy").write_bytes(_npy(np.zeros((4, 4))))
    r = run_cli("submit", str(HEAT), "heat_step", "--input", f"u=ftp://127.0.0.1:{port}/u.npy", "--param",
                "alpha=10", "--param", "dt=1", "--param", "dx=1", "--output", f"u=ftp://127.0.0.1:{port}/o.npy",
                env={"WRAPGEN_CACHE": str(tmp_path / "cache")}, timeout=300)
    assert r.returncode == 1 and "UnstableStepError" in r.stderr, r.stderr
    assert not (root / "o.npy").exists()
    r = run_cli("rsl", str(HEAT), "heat_step", "--input", "u=gsiftp://h/u.npy", "--param", "alpha=0.1")
    assert r.returncode == 0 and "(file_stage_in = (gsiftp://h/u.npy in.u))" in r.stdout
    with pytest.raises(GRAMError, match="no function 'nope'"):
        kernel_job(HEAT, "nope")
    missing = wrapgen.submit("fork://", kernel_job(HEAT, "heat_step", inputs={"u": f"ftp://127.0.0.1:{port}/x"}))
    with pytest.raises(JobFailed) as e:
        missing.result(120)
    assert e.value.code == 135


@pytest.mark.parametrize("args, code, words", [
    (["heat_step", "--input", "v=u.npy"], 2, "--input v: heat_step takes u, alpha, dt, dx, nsteps"),
    (["heat_step", "--param", "alpha"], 2, "--param 'alpha': expected NAME=VALUE"),
    (["heat_step", "--param", "alpha=1"], 2, "heat_step needs u, dt, dx"),
    (["heat_step", "--input", "u=missing.npy"], 1, "FileNotFoundError"),
    (["nope"], 2, "no function 'nope'; the spec has heat_step"),
])
def test_a_kernel_jobs_bad_arguments_are_named(args, code, words, tmp_path) -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "wrapgen.run", str(HEAT), *args], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == code and words in r.stderr, r.stderr
