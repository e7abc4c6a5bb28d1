"""The fork backend (the embedded default): each job is a process group of its own on this machine, started
through fork.sh (exactly-once launch, pid and exit status in the control directory), so a job outlives the
manager that started it and a new manager re-attaches to it by pid and start time."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import threading
import time
from importlib import resources
from pathlib import Path

from ... import proc
from ..errors import GRAMError
from .base import Backend, Launch, Outcome, claim, outcome_from

SCRIPT = resources.files(__package__).joinpath("fork.sh")
GRACE = 5.0  # seconds between SIGTERM and SIGKILL when a job is cancelled


class ForkBackend(Backend):
    """Processes on this machine."""

    name = "fork"
    can_suspend = True

    def __init__(self, poll: float = 0.05) -> None:
        self.poll = poll
        self._children: dict[int, subprocess.Popen] = {}  # jobs this manager started: wait() reaps them
        self._lock = threading.Lock()
        self._script = str(SCRIPT)

    def launch(self, job: Launch) -> str:
        """Check the executable, then start fork.sh in a new session."""
        exe = job.argv[0]
        path = Path(exe) if os.path.isabs(exe) else job.directory / exe
        if "/" not in exe:  # a bare name: PATH of the job's environment, as execvp does
            found = shutil.which(exe, path=job.environment.get("PATH", os.defpath))
            if found is None:
                raise GRAMError(f"the executable {exe!r} is not in the job's PATH", code=5)
            path = Path(found)
        if not path.is_file():
            raise GRAMError(f"the executable {path} does not exist", code=5)
        if not os.access(path, os.X_OK):
            raise GRAMError(f"the executable {path} is not executable (its permissions do not allow it)", code=72)
        env = dict(job.environment)
        if job.max_memory:
            env["WRAPGEN_ULIMIT_V"] = str(job.max_memory * 1024)
        if job.max_cpu_time:
            env["WRAPGEN_ULIMIT_T"] = str(job.max_cpu_time * 60)
        env["WRAPGEN_COUNT"] = str(job.count)
        with open(job.stdin, "rb") as i, open(job.stdout, "ab") as o, open(job.stderr, "ab") as e:
            p = subprocess.Popen(["/bin/sh", self._script, str(job.control), str(job.claim), str(path),
                                  *job.argv[1:]],
                                 cwd=job.directory, env=env, stdin=i, stdout=o, stderr=e, start_new_session=True,
                                 close_fds=True)
        started = proc.start_time(p.pid)
        with self._lock:
            self._children[p.pid] = p
        return f"{p.pid}:{started}"

    def settle(self, job: Launch) -> str | None:
        """Claim the launch if fork.sh has not (it then never runs the job); else the id of the script that did."""
        if claim(job.claim):
            return None  # never started, and fork.sh (if it is still coming) will find it claimed and exit
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:  # the script writes its pid right after claiming
            try:
                text = job.claim.read_text()
                pid = int(text) if text.strip() != "manager" else None
            except (FileNotFoundError, ValueError):
                time.sleep(0.01)
                continue
            if pid is None:
                return None  # an earlier manager's settle claimed it
            return f"{pid}:{proc.start_time(pid) or 0}"
        return None

    def wait(self, job: Launch, native_id: str, timeout: float) -> Outcome | None:
        """Reap our own child at once; poll pid + start time for one an earlier manager started."""
        pid, started = _split(native_id)
        with self._lock:
            child = self._children.get(pid)
        control = job.control
        if child is not None:
            if not _exited(child, timeout):
                return None
            status = child.wait()
            with self._lock:
                self._children.pop(pid, None)
            return outcome_from(control, status)
        deadline = time.monotonic() + timeout
        while proc.running(pid, started or None):
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(self.poll, max(0.0, deadline - time.monotonic())))
        return outcome_from(control, None)

    def cancel(self, job: Launch, native_id: str) -> None:
        """SIGTERM to the job's process group, SIGKILL after GRACE seconds if it is still there."""
        pid, started = _split(native_id)
        if not proc.running(pid, started or None):
            return
        proc.stop_group(pid, signal.SIGCONT)  # a suspended job must wake to hear SIGTERM
        proc.stop_group(pid, signal.SIGTERM)

        def later() -> None:
            if proc.running(pid, started or None):
                proc.stop_group(pid, signal.SIGKILL)

        t = threading.Timer(GRACE, later)
        t.daemon = True
        t.start()

    def suspend(self, job: Launch, native_id: str) -> None:
        """SIGSTOP the group."""
        proc.stop_group(_split(native_id)[0], signal.SIGSTOP)

    def resume(self, job: Launch, native_id: str) -> None:
        """SIGCONT the group."""
        proc.stop_group(_split(native_id)[0], signal.SIGCONT)


def _split(native_id: str) -> tuple[int, int]:
    pid, _, started = native_id.partition(":")
    return int(pid), int(started or 0)


def _exited(child: subprocess.Popen, timeout: float) -> bool:
    """Wait up to timeout for our child to end, woken the moment it does (a pidfd; Popen.wait(timeout) polls
    with sleeps of up to 50 ms)."""
    try:
        fd = os.pidfd_open(child.pid)
    except (AttributeError, OSError):  # no pidfd here: Popen's polling
        try:
            child.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)
