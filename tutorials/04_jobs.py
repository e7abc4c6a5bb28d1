"""Jobs: stage in, compute, retrieve. The heat kernel runs as a job on the embedded default (fork): its input is
staged in from a GridFTP server, the kernel runs in the job's own directory, and the result is staged back to
the server, checksum-verified. Then the same machinery through a job manager over HTTP, and as GT2 RSL that any
GRAM job manager runs (`wrapgen rsl`).

Run it with `make demo` or `python tutorials/04_jobs.py`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

import wrapgen
from wrapgen.gram.kernel import kernel_job
from wrapgen.gram.manager import JobManager
from wrapgen.gram.server import JobServer
from wrapgen.gridftp.server import Server

HEAT = Path(__file__).resolve().parent.parent / "services" / "heat.yaml"

with tempfile.TemporaryDirectory() as tmp:
    root = Path(tmp) / "gridftp"
    root.mkdir()
    u = np.zeros((32, 32))
    u[16, 16] = 1000.0  # a hot spot
    np.save(root / "u.npy", u)
    params = {"alpha": 0.2, "dt": 1.0, "dx": 1.0, "nsteps": 50}

    # An anonymous GridFTP server on 127.0.0.1 stands for the data site (uploads allowed, jailed to its root).
    with Server(root, anonymous=True, anonymous_access="write") as ftp:
        site = f"ftp://127.0.0.1:{ftp.port}"
        job = kernel_job(HEAT, "heat_step", inputs={"u": f"{site}/u.npy"}, outputs={"u": f"{site}/results/u.npy"},
                         params=params)
        print("the job as RSL:\n ", job.to_rsl())

        # 1. fork:// — a job manager in this process; the job is a process group of its own.
        done = wrapgen.submit("fork://", job).result(timeout=600)
        print(f"fork:// job {done['id'][:8]}: {done['state']}, exit status {done['exit_code']}")
        result = np.load(root / "results" / "u.npy")

        # The result equals the same call made here.
        local = np.asfortranarray(u.copy())
        wrapgen.load(HEAT).heat_step(local, **params)
        assert np.array_equal(result, local)
        print(f"staged back: peak {result.max():.2f} K (was {u.max():.0f}), equal to the local call")

        # 2. A job manager over HTTP (`wrapgen jobmanager` serves the same): a job contact, GRAM's states.
        with JobServer(JobManager(Path(tmp) / "jobs")) as manager:
            hello = wrapgen.submit(manager.url, ["/bin/echo", "hello from a job"])
            record = hello.result(timeout=60)
            print(f"{hello.contact}: {record['state']}, stdout {hello.output().decode().strip()!r}")
            assert hello.output() == b"hello from a job\n"

            # A job that cannot run fails with GRAM's code and a cause, never DONE.
            try:
                wrapgen.submit(manager.url, ["/no/such/program"]).result(timeout=60)
            except wrapgen.WrapgenError as exc:
                print(f"as expected: {exc}")
            else:
                raise AssertionError("a missing program was reported DONE")

print("jobs tour passed")
