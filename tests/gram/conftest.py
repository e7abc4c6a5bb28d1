"""A one-node Slurm cluster on 127.0.0.1 (Debian's slurm-wlm and munge), started by the tests and stopped after:
its own munge key and socket, free ports, state in a temporary directory, batch_sched_delay=0."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@pytest.fixture(scope="session")
def slurm():
    """The cluster's client environment (SLURM_CONF, PATH)."""
    run = Path(tempfile.mkdtemp(prefix="wrapgen-slurm-"))
    run.chmod(0o755)
    for d in ("munge", "ctld", "spool", "log"):
        (run / d).mkdir()
    (run / "munge").chmod(0o700)
    key = run / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    sock = run / "munge" / "munge.sock"
    subprocess.run(["munged", "--force", f"--socket={sock}", f"--key-file={key}", f"--pid-file={run}/munge/munged.pid",
                    f"--log-file={run}/log/munged.log", f"--seed-file={run}/munge/munged.seed"], check=True)
    node = socket.gethostname().split(".")[0]
    ctld, slurmd, srun = _free_port(), _free_port(), _free_port()
    conf = run / "slurm.conf"
    conf.write_text(f"""ClusterName=wrapgen
SlurmctldHost={node}(127.0.0.1)
SlurmUser=root
SlurmctldPort={ctld}
SlurmdPort={slurmd}
SrunPortRange={srun}-{srun + 1}
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
AuthType=auth/munge
AuthInfo=socket={sock}
CredType=cred/munge
StateSaveLocation={run}/ctld
SlurmdSpoolDir={run}/spool/%n
SlurmctldPidFile={run}/slurmctld.pid
SlurmdPidFile={run}/slurmd.pid
SlurmctldLogFile={run}/log/slurmctld.log
SlurmdLogFile={run}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=300
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName={node} NodeAddr=127.0.0.1 CPUs={os.cpu_count() or 2} RealMemory=1024 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    subprocess.run(["slurmctld", "-i", "-f", str(conf)], check=True, env=env)
    subprocess.run(["slurmd", "-f", str(conf), "-N", node], check=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            st = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=env).stdout
            if st.strip().startswith(("idle", "mixed", "allocated")):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Slurm node did not come up ({st.strip()!r}); logs in {run}/log")
            time.sleep(0.3)
        yield env
    finally:
        for name in ("slurmd.pid", "slurmctld.pid", "munge/munged.pid"):
            pid = _pid(run / name)
            if pid:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        time.sleep(0.5)
        shutil.rmtree(run, ignore_errors=True)


@pytest.fixture(scope="session")
def dask_cluster():
    """A Dask LocalCluster (worker processes) on 127.0.0.1; its scheduler address."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()
