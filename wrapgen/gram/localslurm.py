"""A one-node Slurm cluster on 127.0.0.1 (Debian's slurm-wlm and munge), for trying the Slurm backend, the tests
and the benchmarks: its own munge key and socket, free ports, state in a temporary directory, daemons bound to
loopback only (NoInAddrAny), batch_sched_delay=0. Needs root (SlurmUser=root)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .errors import GRAMError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _NotUp(Exception):
    def __init__(self, state: str, logs: str) -> None:
        super().__init__(state)
        self.state, self.logs = state, logs


def _tails(log_dir: Path, lines: int = 8) -> str:
    """The last lines of each daemon's log (they are removed with the cluster)."""
    out = []
    for name in ("slurmd.log", "slurmctld.log", "munged.log"):
        try:
            tail = (log_dir / name).read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            continue
        out += [f"  {name}:", *(f"    {line}" for line in tail)]
    return "\n".join(out)


class LocalSlurm:
    """start()/stop() or a context manager; `env` is the client environment (SLURM_CONF)."""

    def __init__(self, cpus: int | None = None, memory_mb: int = 1024) -> None:
        self.cpus, self.memory_mb = cpus or os.cpu_count() or 2, memory_mb
        self.run: Path | None = None
        self.env: dict[str, str] = {}

    def start(self, timeout: float = 60.0, attempts: int = 2) -> LocalSlurm:
        """Start munged, slurmctld and slurmd; return once the node is idle. A node that does not come up (a port
        taken between choosing it and the daemon binding it) is tried again on fresh ports."""
        for tool in ("munged", "slurmctld", "slurmd", "sinfo"):
            if shutil.which(tool) is None:
                raise GRAMError(f"a local Slurm needs {tool} (Debian: slurm-wlm, munge)", code=45)
        for attempt in range(1, attempts + 1):
            try:
                return self._start_once(timeout)
            except _NotUp as exc:
                if attempt == attempts:
                    raise GRAMError(f"the Slurm node did not come up ({exc.state!r}) in {attempts} attempts; the "
                                    f"last daemons' logs ended with:\n{exc.logs}", code=12) from None
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> LocalSlurm:
        run = self.run = Path(tempfile.mkdtemp(prefix="wrapgen-slurm-"))
        run.chmod(0o755)
        for d in ("munge", "ctld", "spool", "log"):
            (run / d).mkdir()
        (run / "munge").chmod(0o700)
        key = run / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        sock = run / "munge" / "munge.sock"
        subprocess.run(["munged", "--force", f"--socket={sock}", f"--key-file={key}",
                        f"--pid-file={run}/munge/munged.pid", f"--log-file={run}/log/munged.log",
                        f"--seed-file={run}/munge/munged.seed"], check=True)
        node = socket.gethostname().split(".")[0]
        ctld, slurmd, srun = _free_port(), _free_port(), _free_port()
        conf = run / "slurm.conf"
        conf.write_text("\n".join([
            "ClusterName=wrapgen", f"SlurmctldHost={node}(127.0.0.1)", "SlurmUser=root",
            f"SlurmctldPort={ctld}", f"SlurmdPort={slurmd}", f"SrunPortRange={srun}-{srun + 1}",
            "CommunicationParameters=NoInAddrAny,NoCtldInAddrAny", "AuthType=auth/munge", f"AuthInfo=socket={sock}",
            "CredType=cred/munge", f"StateSaveLocation={run}/ctld", f"SlurmdSpoolDir={run}/spool/%n",
            f"SlurmctldPidFile={run}/slurmctld.pid", f"SlurmdPidFile={run}/slurmd.pid",
            f"SlurmctldLogFile={run}/log/slurmctld.log", f"SlurmdLogFile={run}/log/slurmd.log",
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "SwitchType=switch/none", "MpiDefault=none",
            "SchedulerType=sched/backfill", "SchedulerParameters=batch_sched_delay=0", "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core", "ReturnToService=2", "MinJobAge=300",
            "AccountingStorageType=accounting_storage/none", "JobAcctGatherType=jobacct_gather/none",
            "JobCompType=jobcomp/none",
            f"NodeName={node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb} State=UNKNOWN",
            "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP", ""]))
        self.env = {**os.environ, "SLURM_CONF": str(conf)}
        try:
            subprocess.run(["slurmctld", "-i", "-f", str(conf)], check=True, env=self.env)
            subprocess.run(["slurmd", "-f", str(conf), "-N", node], check=True, env=self.env)
            deadline = time.monotonic() + timeout
            while True:
                st = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True,
                                    env=self.env).stdout.strip()
                if st.startswith(("idle", "mixed", "allocated")):
                    return self
                if time.monotonic() > deadline:
                    raise _NotUp(st, _tails(run / "log"))
                time.sleep(0.3)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the daemons and remove the cluster's files."""
        if self.run is None:
            return
        for name in ("slurmd.pid", "slurmctld.pid", "munge/munged.pid"):
            try:
                os.kill(int((self.run / name).read_text().split()[0]), signal.SIGTERM)
            except (OSError, ValueError, IndexError):
                pass
        time.sleep(0.5)
        shutil.rmtree(self.run, ignore_errors=True)
        self.run = None

    def __enter__(self) -> LocalSlurm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
