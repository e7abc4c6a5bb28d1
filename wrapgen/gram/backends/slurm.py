"""The Slurm backend: jobs go in with sbatch (the batch script is a template file, slurm.sh), their states come
from one batched squeue poll for every job this manager watches (fast at first, slower while nothing changes),
and their exit status from a file the batch script writes. A job cancelled with scancel outside wrapgen ends
FAILED with that cause; a job Slurm forgot without an exit status is FAILED, never DONE."""

from __future__ import annotations

import shlex
import shutil
import string
import subprocess
import threading
import time
from importlib import resources

from ..errors import GRAMError
from .base import Backend, Launch, Outcome, claim

TEMPLATE = string.Template(resources.files(__package__).joinpath("slurm.sh").read_text())
# Slurm job states after which nothing more happens (squeue -t all, %T)
ENDED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL",
         "DEADLINE", "SPECIAL_EXIT", "REVOKED"}
CAUSES = {"TIMEOUT": "Slurm stopped the job at its time limit (max_wall_time)",
          "OUT_OF_MEMORY": "Slurm stopped the job: it ran out of memory (max_memory)",
          "NODE_FAIL": "the node running the job failed", "PREEMPTED": "Slurm preempted the job",
          "BOOT_FAIL": "the node could not boot for the job", "DEADLINE": "the job missed its deadline"}


class SlurmBackend(Backend):
    """A Slurm cluster this machine can submit to (sbatch, squeue, scancel on PATH; SLURM_CONF as usual)."""

    name = "slurm"

    def __init__(self, min_poll: float = 0.05, max_poll: float = 2.0, env: dict[str, str] | None = None) -> None:
        for tool in ("sbatch", "squeue", "scancel"):
            if shutil.which(tool) is None:
                raise GRAMError(f"the slurm backend needs {tool} on PATH (Debian: slurm-client)", code=45)
        self.min_poll, self.max_poll = min_poll, max_poll
        self.env = env  # the Slurm client environment (SLURM_CONF); default: this process's
        self._states: dict[str, str] = {}
        self._watched: set[str] = set()
        self._cond = threading.Condition()
        self._poller: threading.Thread | None = None
        self._closed = False

    def _run(self, argv: list[str], env: dict[str, str] | None = None, timeout: float = 60) -> str:
        r = subprocess.run(argv, capture_output=True, text=True, env=env or self.env, timeout=timeout)
        if r.returncode != 0:
            raise GRAMError(f"{argv[0]}: {r.stderr.strip() or r.stdout.strip() or f'exit status {r.returncode}'}",
                            code=17)
        return r.stdout

    def launch(self, job: Launch) -> str:
        """Write the batch script and sbatch it; the Slurm job id."""
        script = job.control / "job.sbatch"
        directives = []
        for flag, value in (("--nodes", job.host_count), ("--time", job.max_wall_time),
                            ("--mem", job.max_memory), ("--partition", job.queue), ("--account", job.project)):
            if value:
                directives.append(f"#SBATCH {flag}={value}")
        for key, value in sorted(job.extras.items()):  # slurm_<option> attributes of slurm.rvf
            if key.startswith("slurm_"):
                directives.append(f"#SBATCH --{key[6:].replace('_', '-')}={value}")
        script.write_text(TEMPLATE.substitute(
            name=f"wrapgen-{job.job_id}-{job.attempt}", directory=_q(job.directory), stdin=_q(job.stdin),
            stdout=_q(job.stdout),
            stderr=_q(job.stderr), directives="\n".join(directives), control=shlex.quote(str(job.control)),
            count=max(1, job.count), command=" ".join(shlex.quote(a) for a in job.argv),
            executable=shlex.quote(job.argv[0]), claim=shlex.quote(str(job.claim))))
        out = self._run(["sbatch", "--parsable", str(script)], env={**job.environment, **(self.env or {})})
        native = out.strip().split(";")[0]
        if not native.isdigit():
            raise GRAMError(f"sbatch answered {out.strip()!r}, not a job id", code=109)
        return native

    def settle(self, job: Launch) -> str | None:
        """The job id Slurm knows by the job's name; None (and the launch claimed for the manager) if none."""
        out = self._run(["squeue", "-h", "-t", "all", "--name", f"wrapgen-{job.job_id}-{job.attempt}", "-o", "%i"])
        ids = out.split()
        if ids:
            return ids[0]
        if claim(job.claim):
            return None  # the batch job, if Slurm still starts it, finds the launch claimed and exits
        text = job.claim.read_text().strip()
        return text if text.isdigit() else None

    def wait(self, job: Launch, native_id: str, timeout: float) -> Outcome | None:
        """The outcome once the exit status file exists or Slurm reports the job ended."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._watched.add(native_id)
            if self._poller is None:
                self._poller = threading.Thread(target=self._poll, name="slurm-poller", daemon=True)
                self._poller.start()
            self._cond.notify_all()
            while True:
                state = self._states.get(native_id)
                ended = state is not None and (state == "GONE" or state.split()[0] in ENDED)
                code = _exit_code(job)
                # An exit status above 128 is the script's command killed by a signal: scancel, preemption or a
                # node failure, which only Slurm's final state tells apart; wait for it (seen: an outside scancel
                # reported DONE because the script wrote 143 before squeue said CANCELLED).
                if ended or (job.control / "missing").exists() or (code is not None and code <= 128):
                    self._watched.discard(native_id)
                    return _outcome(job, state)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, self.min_poll * 4))

    def _poll(self) -> None:
        interval = self.min_poll
        while not self._closed:
            with self._cond:
                ids = sorted(self._watched)
            if ids:
                try:
                    out = self._run(["squeue", "-h", "-t", "all", "-j", ",".join(ids), "-o", "%i %T %r"], timeout=30)
                except (GRAMError, subprocess.TimeoutExpired, OSError):
                    out = None
                if out is not None:
                    seen = {}
                    for line in out.splitlines():
                        parts = line.split(None, 2)
                        if len(parts) >= 2:
                            seen[parts[0]] = " ".join(parts[1:])
                    with self._cond:
                        changed = False
                        for i in ids:
                            new = seen.get(i, "GONE")
                            changed |= self._states.get(i) != new
                            self._states[i] = new
                        self._cond.notify_all()
                    interval = self.min_poll if changed else min(self.max_poll, interval * 1.5)
            with self._cond:
                self._cond.wait(interval)

    def cancel(self, job: Launch, native_id: str) -> None:
        """scancel (the whole job; Slurm signals every process of it)."""
        (job.control / "cancelled-by-wrapgen").touch()
        try:
            self._run(["scancel", native_id])
        except GRAMError:
            pass  # already ended

    def close(self) -> None:
        """Stop polling (jobs keep running in Slurm)."""
        self._closed = True
        with self._cond:
            self._cond.notify_all()


def _q(path: object) -> str:
    text = str(path)
    if any(c in text for c in "\n\r"):
        raise GRAMError(f"{text!r}: a path with a line break cannot go into a batch script", code=52)
    return text.replace("%", "%%")


def _exit_code(job: Launch) -> int | None:
    """The exit status the batch script wrote, None while there is none."""
    try:
        return int((job.control / "exit").read_text())
    except (OSError, ValueError):
        return None


def _outcome(job: Launch, state: str | None) -> Outcome:
    missing = job.control / "missing"
    if missing.exists():
        return Outcome(None, 5, f"the executable {missing.read_text().strip()} does not exist (or may not be run) "
                                "on the node that ran the job")
    code = _exit_code(job)
    word = (state or "").split()[0] if state else ""
    killed = code is not None and code > 128 and word not in ("", "COMPLETED", "FAILED", "GONE")
    if code is not None and word not in ("TIMEOUT", "OUT_OF_MEMORY") and not killed:
        return Outcome(code, 0, f"exit status {code}")
    if word == "CANCELLED" and not (job.control / "cancelled-by-wrapgen").exists():
        return Outcome(code, 9, "the job was cancelled in Slurm (scancel) outside wrapgen")
    if word in CAUSES:
        return Outcome(code, 17, CAUSES[word])
    if word == "CANCELLED":
        return Outcome(code, 8, "cancelled")
    return Outcome(code, 17, f"the job ended in Slurm ({state or 'unknown'}) without leaving an exit status")
