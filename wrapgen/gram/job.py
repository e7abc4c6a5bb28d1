"""`wrapgen.submit(target, job)`: a job on fork://, slurm://, dask:// or a job manager URL, as a
concurrent.futures.Future (`Job`) that completes when the job is DONE (stage-out included) or FAILED."""

from __future__ import annotations

import concurrent.futures
import os
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .description import JobDescription
from .errors import GRAMError

BACKEND_SCHEMES = ("fork", "slurm", "dask")


class JobFailed(GRAMError):
    """The job ended FAILED; `record` holds its state, failure code, exit code and cause."""

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__(f"job {record['id']} FAILED ({record['failure_code']}): {record['cause']}",
                         code=record["failure_code"])
        self.record = record


class Job(concurrent.futures.Future):
    """A submitted job. result() is its final record (a dict: state, exit_code, cause, ...) once DONE; a FAILED
    job raises JobFailed. cancel() cancels the job itself (wherever it is), not just the waiting."""

    def __init__(self, contact: str, record: dict[str, Any], status: Any, canceller: Any, waiter: Any,
                 output: Any, closer: Any = None) -> None:
        super().__init__()
        self.contact, self.id = contact, record["id"]
        self._status, self._cancel, self._output, self._closer = status, canceller, output, closer
        self.set_running_or_notify_cancel()
        threading.Thread(target=self._watch, args=(waiter,), name=f"job-{self.id[:8]}", daemon=True).start()

    @property
    def state(self) -> str:
        """The job's state now (UNSUBMITTED ... DONE, FAILED)."""
        return self._status()["state"]

    def status(self) -> dict[str, Any]:
        """The job's record now."""
        return self._status()

    def output(self, name: str = "stdout") -> bytes:
        """The job's stdout or stderr."""
        return self._output(name)

    def cancel(self) -> bool:
        """Cancel the job; True if it was not over yet."""
        if self.done():
            return False
        try:
            self._cancel()
        except GRAMError:
            return False
        return True

    def _watch(self, waiter: Any) -> None:
        try:
            rec = waiter()
            if rec["state"] == "DONE":
                self.set_result(rec)
            else:
                self.set_exception(JobFailed(rec))
        except BaseException as exc:  # the manager went away: the waiting ends with why
            self.set_exception(exc)
        finally:
            if self._closer is not None:
                self._closer()


def as_description(job: JobDescription | str | list[str]) -> JobDescription | str:
    """An argv list becomes a description; RSL text and descriptions pass."""
    if isinstance(job, (list, tuple)):
        if not job:
            raise GRAMError("an empty argv: give at least the executable", code=55)
        return JobDescription(executable=str(job[0]), arguments=[str(a) for a in job[1:]])
    return job


def submit(target: str, job: JobDescription | str | list[str], **options: Any) -> Job:
    """Run job on target: fork:// (or fork:///STATE-DIR), slurm://, dask://HOST:PORT, or a job manager's
    http(s):// URL (options: cert, verify). The Job completes when the job has ended."""
    u = urlsplit(target)
    desc = as_description(job)
    if u.scheme in BACKEND_SCHEMES:
        from .manager import JobManager

        state = Path(u.path) if u.path not in ("", "/") else Path(tempfile.mkdtemp(
            prefix="jobs-", dir=_cache_dir()))
        backend_options = dict(options.pop("backend_options", {}))
        if u.scheme == "dask" and u.netloc:
            backend_options.setdefault("address", u.netloc)
        m = JobManager(state, u.scheme, backend_options=backend_options, **options).start()
        rec = m.submit(desc)
        contact = f"{u.scheme}://{state}#{rec.id}"
        return Job(contact, rec.as_json(), lambda: m.get(rec.id).as_json(), lambda: m.cancel(rec.id),
                   lambda: m.wait(rec.id).as_json(), lambda name: (Path(rec.control) / name).read_bytes(), m.stop)
    if u.scheme in ("http", "https"):
        from .client import JobClient

        c = JobClient(target, **options)
        rec = c.submit(desc)
        contact = rec["contact"]
        return Job(contact, rec, lambda: c.status(contact), lambda: c.cancel(contact), lambda: c.wait(contact),
                   lambda name: c.output(contact, name), c.close)
    raise GRAMError(f"{target}: expected fork://, slurm://, dask://HOST:PORT or a job manager's http(s):// URL",
                    code=45)


def _cache_dir() -> str:
    base = Path(os.environ.get("WRAPGEN_CACHE") or Path.home() / ".cache" / "wrapgen") / "jobs"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    return str(base)
