"""The Dask backend on a LocalCluster: programs and kernel calls as tasks, the same states and codes as fork."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

import wrapgen
from wrapgen.gram.description import JobDescription as J
from wrapgen.gram.kernel import kernel_job
from wrapgen.gram.manager import JobManager
from wrapgen.gram.state import JobState

HEAT = Path(__file__).resolve().parents[2] / "services" / "heat.yaml"


def test_programs_run_as_tasks(dask_cluster, tmp_path) -> None:
    with JobManager(tmp_path / "state", "dask", backend_options={"address": dask_cluster}) as m:
        ok = m.wait(m.submit(J(executable="/bin/sh", arguments=["-c", "echo $0 $1", "a", "b c"])).id, 120)
        assert (ok.job_state, ok.exit_code) == (JobState.DONE, 0)
        assert (Path(ok.control) / "stdout").read_text() == "a b c\n"
        bad = m.wait(m.submit('&(executable=/bin/sh)(arguments=-c "exit 6")').id, 120)
        assert (bad.job_state, bad.exit_code) == (JobState.DONE, 6)
        long = m.submit(J(executable="/bin/sleep", arguments=["60"]))
        while m.get(long.id).job_state != JobState.ACTIVE:
            pass
        m.cancel(long.id)
        assert m.wait(long.id, 120).failure_code == 8


def test_a_kernel_call_runs_in_the_worker_and_equals_the_local_call(dask_cluster, tmp_path) -> None:
    u = np.zeros((5, 5))
    u[2, 2] = 50.0
    buf = io.BytesIO()
    np.save(buf, u)
    (tmp_path / "u.npy").write_bytes(buf.getvalue())
    params = {"alpha": 0.2, "dt": 0.5, "dx": 1.0, "nsteps": 3}
    job = kernel_job(HEAT, "heat_step", inputs={"u": f"file://{tmp_path}/u.npy"},
                     outputs={"u": f"file://{tmp_path}/out.npy"}, params=params)
    rec = wrapgen.submit(f"dask://{dask_cluster.split('://')[1]}", job,
                         backend_options={}).result(300)
    assert rec["state"] == "DONE" and rec["exit_code"] == 0, rec["cause"]
    assert not (Path(rec["directory"]).parent / "pid").exists()  # no program was started for the call
    local = np.asfortranarray(u.copy())
    wrapgen.load(HEAT).heat_step(local, **params)
    assert np.array_equal(np.load(tmp_path / "out.npy"), local)


def test_a_restarted_manager_reattaches_to_its_task(dask_cluster, tmp_path) -> None:
    marker = tmp_path / "runs"
    m = JobManager(tmp_path / "state", "dask", backend_options={"address": dask_cluster}).start()
    job = m.submit(J(executable="/bin/sh", arguments=["-c", f"echo x >> {marker}; sleep 2; exit 2"]))
    while m.get(job.id).job_state != JobState.ACTIVE:
        pass
    m.stop()
    with JobManager(tmp_path / "state", "dask", backend_options={"address": dask_cluster}) as again:
        done = again.wait(job.id, 120)
    assert (done.job_state, done.exit_code) == (JobState.DONE, 2) and marker.read_text() == "x\n"
