"""Jobs: submit -> done latency and throughput, ours against the peers in the same run.

    python bench/jobs.py [--latency 20] [--jobs 200] [--slurm] [--dask]

- fork: our embedded JobManager on the fork backend vs psij-python's `local` executor (/bin/true);
- slurm (--slurm): our Slurm backend vs plain `sbatch` + `squeue` polling every 50 ms, on a one-node Slurm this
  script starts on 127.0.0.1 (batch_sched_delay=0);
- dask (--dask): a kernel call (a spec function) as a job on a LocalCluster vs `client.submit` of the same call.
Ratios are peer/ours for latency (>1: ours is quicker) and ours/peer for throughput (>1: ours does more).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def through_manager(m, job, n_latency: int, n_jobs: int) -> tuple[float, float]:
    """(median latency, jobs/s) of job(k) descriptions through a started JobManager."""
    m.wait(m.submit(job(0)).id)  # warm
    lat = []
    for k in range(n_latency):
        t = time.perf_counter()
        m.wait(m.submit(job(k)).id)
        lat.append(time.perf_counter() - t)
    t = time.perf_counter()
    ids = [m.submit(job(k)).id for k in range(n_jobs)]
    for i in ids:
        m.wait(i)
    return statistics.median(lat), n_jobs / (time.perf_counter() - t)


def ours_fork(n_latency: int, n_jobs: int) -> tuple[float, float]:
    from wrapgen.gram.description import JobDescription
    from wrapgen.gram.manager import JobManager

    true = JobDescription(executable="/bin/true")
    with JobManager(tempfile.mkdtemp(prefix="bench-jobs-")) as m:
        return through_manager(m, lambda k: true, n_latency, n_jobs)


def psij_local(n_latency: int, n_jobs: int) -> tuple[float, float]:
    import psij

    ex = psij.JobExecutor.get_instance("local")

    def job() -> psij.Job:
        return psij.Job(psij.JobSpec(executable="/bin/true"))

    j = job()
    ex.submit(j)
    j.wait()
    lat = []
    for _ in range(n_latency):
        t = time.perf_counter()
        j = job()
        ex.submit(j)
        j.wait()
        lat.append(time.perf_counter() - t)
    t = time.perf_counter()
    jobs = [job() for _ in range(n_jobs)]
    for j in jobs:
        ex.submit(j)
    for j in jobs:
        j.wait()
    return statistics.median(lat), n_jobs / (time.perf_counter() - t)


def row(name: str, ours: tuple[float, float], peer: tuple[float, float], peer_name: str) -> None:
    print(f"| {name} | {ours[0] * 1000:.1f} ms | {peer[0] * 1000:.1f} ms | {peer[0] / ours[0]:.2f} | "
          f"{ours[1]:.0f}/s | {peer[1]:.0f}/s | {ours[1] / peer[1]:.2f} | {peer_name} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--latency", type=int, default=20, help="jobs run one after another (median)")
    ap.add_argument("--jobs", type=int, default=200, help="jobs submitted at once (throughput)")
    ap.add_argument("--slurm", action="store_true")
    ap.add_argument("--dask", action="store_true")
    a = ap.parse_args()
    print("| backend | ours latency | peer latency | peer/ours | ours jobs/s | peer jobs/s | ours/peer | peer |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    row("fork", ours_fork(a.latency, a.jobs), psij_local(a.latency, a.jobs), "psij-python local")
    if a.slurm:
        slurm(a.latency, max(20, a.jobs // 5))
    if a.dask:
        dask(a.latency, a.jobs)


def slurm(n_latency: int, n_jobs: int) -> None:
    import os

    from wrapgen.gram.description import JobDescription
    from wrapgen.gram.localslurm import LocalSlurm
    from wrapgen.gram.manager import JobManager

    with LocalSlurm() as cluster:
        os.environ.update(cluster.env)
        true = JobDescription(executable="/bin/true")
        with JobManager(tempfile.mkdtemp(prefix="bench-slurm-"), "slurm") as m:
            ours = through_manager(m, lambda k: true, n_latency, n_jobs)
        d = Path(tempfile.mkdtemp(prefix="bench-sbatch-"))
        script = d / "true.sh"
        script.write_text("#!/bin/sh\n/bin/true\n")

        def sbatch() -> str:
            return subprocess.run(["sbatch", "--parsable", f"--output={d}/%j.out", str(script)], check=True,
                                  capture_output=True, text=True, env=cluster.env).stdout.strip().split(";")[0]

        def finished(ids: list[str]) -> set[str]:
            out = subprocess.run(["squeue", "-h", "-t", "all", "-j", ",".join(ids), "-o", "%i %T"],
                                 capture_output=True, text=True, env=cluster.env).stdout
            return {i for i, s in (line.split() for line in out.splitlines()) if s in ("COMPLETED", "FAILED")}

        lat = []
        for _ in range(n_latency):
            t = time.perf_counter()
            i = sbatch()
            while i not in finished([i]):
                time.sleep(0.05)
            lat.append(time.perf_counter() - t)
        t = time.perf_counter()
        ids = [sbatch() for _ in range(n_jobs)]
        while len(finished(ids)) < len(ids):
            time.sleep(0.05)
        peer = (statistics.median(lat), n_jobs / (time.perf_counter() - t))
        row("slurm", ours, peer, "sbatch + squeue every 50 ms")


def dask(n_latency: int, n_jobs: int) -> None:
    import io

    import numpy as np
    from distributed import Client, LocalCluster

    import wrapgen
    from wrapgen.gram.kernel import kernel_job
    from wrapgen.gram.manager import JobManager

    heat = Path(__file__).resolve().parents[1] / "services" / "heat.yaml"
    wrapgen.load(heat)  # built once, before either side is timed
    d = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    buf = io.BytesIO()
    np.save(buf, np.zeros((64, 64)))
    (d / "u.npy").write_bytes(buf.getvalue())
    params = {"alpha": 0.1, "dt": 0.1, "dx": 1.0}
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster:
        with JobManager(d / "state", "dask", backend_options={"address": cluster.scheduler_address}) as m:
            def one(k: int):
                return kernel_job(heat, "heat_step", inputs={"u": f"file://{d}/u.npy"},
                                  outputs={"u": f"file://{d}/out{k}.npy"}, params=params)

            ours = through_manager(m, one, n_latency, n_jobs)
        with Client(cluster.scheduler_address) as client:
            def call(src: str, dst: str) -> None:
                import numpy as np

                import wrapgen

                u = np.asfortranarray(np.load(src))
                wrapgen.load(str(heat)).heat_step(u, **params)
                np.save(dst, u)

            client.submit(call, f"{d}/u.npy", f"{d}/p.npy", pure=False).result()
            lat = []
            for k in range(n_latency):
                t = time.perf_counter()
                client.submit(call, f"{d}/u.npy", f"{d}/p{k}.npy", pure=False).result()
                lat.append(time.perf_counter() - t)
            t = time.perf_counter()
            futures = [client.submit(call, f"{d}/u.npy", f"{d}/p{k}.npy", pure=False) for k in range(n_jobs)]
            client.gather(futures)
            peer = (statistics.median(lat), n_jobs / (time.perf_counter() - t))
    row("dask (kernel call)", ours, peer, "client.submit of the same call")


if __name__ == "__main__":
    main()
