"""The Dask backend: jobs are tasks on a Dask distributed cluster (any scheduler address; a LocalCluster in the
tests). A kernel job (`python -m wrapgen.run SPEC FUNCTION ...`) runs as a call in the worker's own process, no
process started per call; any other job runs its program from the worker. As on fork, the task claims the job's
launch first (exactly once) and writes the exit status into the control directory, and the task is
fire-and-forget, so a job survives the manager that submitted it."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

from ..errors import GRAMError
from .base import Backend, Launch, Outcome, claim, outcome_from


class DaskBackend(Backend):
    """A Dask distributed scheduler, by address (tcp://host:port)."""

    name = "dask"

    def __init__(self, address: str | None = None, client: Any = None) -> None:
        try:
            import distributed
        except ImportError:
            raise GRAMError("the dask backend needs the distributed package: pip install 'wrapgen[dask]'",
                            code=45) from None
        if client is None and not address:
            raise GRAMError("the dask backend needs a scheduler address (dask://HOST:PORT)", code=45)
        addr = address if address is None or "://" in address else f"tcp://{address}"
        self._own = client is None
        self.client = client or distributed.Client(addr, set_as_default=False, timeout=30)
        self._futures: dict[str, Any] = {}
        self._done: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def launch(self, job: Launch) -> str:
        """Submit the task (fire and forget: the scheduler keeps it if this manager goes away)."""
        import distributed

        key = f"wrapgen-{job.job_id}-{job.attempt}"
        future = self.client.submit(run_task, _spec(job), key=key, pure=False)
        distributed.fire_and_forget(future)
        self._track(key, future)
        return key

    def _track(self, key: str, future: Any) -> threading.Event:
        """Remember the future; its Event is set (from the client's loop) the moment it finishes, so waiting
        costs no call into the client (a thread per job polling result(timeout) starved the manager)."""
        done = threading.Event()
        with self._lock:
            self._futures[key] = future
            self._done[key] = done
        future.add_done_callback(lambda _f: done.set())
        return done

    def settle(self, job: Launch) -> str | None:
        """The task's key if the scheduler has it; else the token is taken back."""
        key = f"wrapgen-{job.job_id}-{job.attempt}"
        if self._known(key):
            return key
        if claim(job.claim):
            return None
        return key if job.claim.read_text().strip() == "dask" else None

    def _known(self, key: str) -> bool:
        def ask(dask_scheduler: Any, key: str = key) -> bool:
            return key in dask_scheduler.tasks

        try:
            return bool(self.client.run_on_scheduler(ask))
        except Exception:  # the scheduler is unreachable: the caller learns it from wait()
            return False

    def wait(self, job: Launch, native_id: str, timeout: float) -> Outcome | None:
        """The outcome once the task has written the exit status (or the task failed or was lost)."""
        import distributed

        if (job.control / "exit").exists():
            return outcome_from(job.control, None)
        with self._lock:
            future, done = self._futures.get(native_id), self._done.get(native_id)
        if future is None or done is None:
            if not self._known(native_id) and not (job.control / "exit").exists():
                return Outcome(None, 17, "the Dask scheduler no longer knows the task and it left no exit status")
            future = distributed.Future(native_id, client=self.client)
            done = self._track(native_id, future)
        if not done.wait(timeout):
            return None
        status = future.status
        with self._lock:
            self._futures.pop(native_id, None)
            self._done.pop(native_id, None)
        if (job.control / "exit").exists():
            return outcome_from(job.control, None)
        if status == "error":
            return Outcome(None, 17, f"the Dask task failed: {future.exception()!r}")
        if status == "cancelled":
            return Outcome(None, 8, "the Dask task was cancelled")
        return Outcome(None, 17, f"the Dask task ended ({status}) without an exit status")

    def cancel(self, job: Launch, native_id: str) -> None:
        """Cancel the task; a program it started is killed (a kernel call already running finishes)."""
        with self._lock:
            future = self._futures.get(native_id)
        if future is not None:
            future.cancel()
        try:
            pid = int((job.control / "pid").read_text())
            os.killpg(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass
        if not (job.control / "exit").exists():
            (job.control / "exit.part").write_text("137\n")
            os.replace(job.control / "exit.part", job.control / "exit")

    def close(self) -> None:
        """Disconnect (the tasks stay with the scheduler)."""
        if self._own:
            self.client.close()


def _spec(job: Launch) -> dict[str, Any]:
    argv = list(job.argv)
    kernel = len(argv) >= 5 and argv[1:3] == ["-m", "wrapgen.run"] and "--fd" not in argv
    return {"argv": argv, "directory": str(job.directory), "control": str(job.control), "claim": str(job.claim),
            "env": job.environment,
            "stdin": str(job.stdin), "stdout": str(job.stdout), "stderr": str(job.stderr), "count": job.count,
            "kernel": kernel}


def run_task(spec: dict[str, Any]) -> int | None:
    """What a worker runs for a job: claim the launch, run, write the exit status."""
    control = Path(spec["control"])
    if not claim(Path(spec["claim"]), "dask"):
        return None  # another runner (or the manager, settling) claimed it: never run twice
    if spec["kernel"]:
        rc = _kernel_call(spec)
    else:
        procs = []
        with open(spec["stdin"], "rb") as i, open(spec["stdout"], "ab") as o, open(spec["stderr"], "ab") as e:
            for _ in range(max(1, int(spec["count"]))):
                procs.append(subprocess.Popen(spec["argv"], cwd=spec["directory"], env=spec["env"], stdin=i,
                                              stdout=o, stderr=e, start_new_session=True))
        (control / "pid").write_text(str(procs[0].pid))
        codes = [p.wait() for p in procs]
        rc = next((c for c in codes if c != 0), 0)
        rc = 128 - rc if rc < 0 else rc
    (control / "exit.part").write_text(f"{rc}\n")
    os.replace(control / "exit.part", control / "exit")
    return rc


def _kernel_call(spec: dict[str, Any]) -> int:
    """`python -m wrapgen.run SPEC FUNCTION ...` in this process, paths relative to the job directory."""
    import traceback

    from ...bind.call import failure_line, run

    with open(spec["stderr"], "a") as err:
        try:
            return run(spec["argv"][3:], Path(spec["directory"]), err)
        except SystemExit as exc:  # argparse refusing the arguments
            return int(exc.code or 2)
        except Exception as exc:  # any other error is the job's outcome, not the worker's
            err.write(failure_line(exc) + "\n")
            err.write(traceback.format_exc(limit=3))
            return 1
