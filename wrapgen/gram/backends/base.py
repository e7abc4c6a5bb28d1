"""The one interface every job backend implements (psij-python's JobExecutor, cut to what the job manager needs).

Contract:
- `launch(job)` starts the job and returns its native id (text) only once the job surely exists; the manager
  records that id before doing anything else. A launch is exactly-once: whatever runs the job first creates
  `job.claim` (control/claimed.ATTEMPT) exclusively (`claim()`); a launch whose id was not recorded (the manager
  died in between) is settled by `settle(job)`, which claims it for the manager if the runner has not, so that
  attempt never runs; the manager then launches again as the next attempt, with a claim file of its own.
- `wait(job, native_id, timeout)` returns the Outcome once the job has ended, None while it runs; it must work for a
  job started by an earlier manager process (from the native id alone).
- `cancel`, `suspend`, `resume` act on a running job (suspend/resume only where `can_suspend`).
"""

from __future__ import annotations

import os
import signal
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GRAMError


@dataclass(frozen=True)
class Launch:
    """What a backend needs to start a job: argv (the executable resolved), the working directory, the complete
    environment, stdio paths, the control directory (the manager's own files for this job) and the limits."""

    job_id: str
    argv: list[str]
    directory: Path
    control: Path
    environment: dict[str, str]
    stdin: Path
    stdout: Path
    stderr: Path
    count: int = 1
    max_wall_time: int | None = None  # minutes
    max_cpu_time: int | None = None  # minutes
    max_memory: int | None = None  # megabytes
    queue: str | None = None
    project: str | None = None
    host_count: int | None = None
    extras: dict[str, str] = field(default_factory=dict)
    attempt: int = 1  # which launch of the job this is (a settled, unclaimed one is followed by the next)

    @property
    def claim(self) -> Path:
        """The file whoever runs this attempt creates exclusively first."""
        return self.control / f"claimed.{self.attempt}"


@dataclass(frozen=True)
class Outcome:
    """How a job ended: its exit code (None if it never gave one), GRAM's failure code (0: it ran to its end)
    and a human-readable cause."""

    exit_code: int | None
    failure_code: int = 0
    cause: str = ""


class Backend(ABC):
    """A place jobs run."""

    name = ""
    can_suspend = False

    @abstractmethod
    def launch(self, job: Launch) -> str:
        """Start the job; its native id."""

    @abstractmethod
    def settle(self, job: Launch) -> str | None:
        """For a launch whose native id was never recorded: the id if the job did start, None if it did not
        and now never will."""

    @abstractmethod
    def wait(self, job: Launch, native_id: str, timeout: float) -> Outcome | None:
        """The outcome if the job has ended (waiting up to timeout seconds), else None."""

    @abstractmethod
    def cancel(self, job: Launch, native_id: str) -> None:
        """Stop the job and everything it started."""

    def suspend(self, job: Launch, native_id: str) -> None:
        """Pause the job (where can_suspend)."""
        raise GRAMError(f"the {self.name} backend cannot suspend jobs", code=108)

    def resume(self, job: Launch, native_id: str) -> None:
        """Continue a paused job."""
        raise GRAMError(f"the {self.name} backend cannot resume jobs", code=108)

    def close(self) -> None:
        """Release what the backend holds (jobs keep running)."""


def outcome_from(control: Path, status: int | None) -> Outcome:
    """From the exit status the job's wrapper wrote in its control directory (and, for a child of ours, the
    Popen-style status wait() gave: negative for a signal)."""
    try:
        code: int | None = int((control / "exit").read_text())
    except (OSError, ValueError):
        code = None
    if code is None and status is not None and status < 0:
        sig = signal.Signals(-status)
        return Outcome(None, 17, f"the job was killed by {sig.name} ({signal.strsignal(sig)})")
    if code is None:
        return Outcome(None, 17, "the job's processes ended without leaving an exit status (killed?)")
    if code > 128 and code - 128 in signal.valid_signals():
        sig = signal.Signals(code - 128)
        return Outcome(code, 0, f"exit status {code} (the program was killed by {sig.name})")
    return Outcome(code, 0, f"exit status {code}")


def claim(path: Path, who: str = "manager") -> bool:
    """Create the claim file exclusively (O_EXCL): True if this call claimed the launch, False if another did."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(who + "\n")
    return True
