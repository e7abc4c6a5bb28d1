"""Compute steps as kernel jobs (wrapgen.gram): on fork://, slurm:// or dask://HOST:PORT through a job manager
this driver runs on a state directory of the pipeline's own, or on a job manager's http(s):// URL.

Every job carries its step key in its environment (WRAPGEN_STEP_KEY). The job manager's store outlives the
driver, so a driver killed at any instant finds, on the next run, the job it had submitted for a key -- running,
or finished while nobody watched -- and waits for it instead of submitting it again."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ...gram.errors import GRAMError
from ...netlogger import GUID_VARIABLE
from ..errors import StepFailed
from ..graph import Node
from .base import Executor, Note, output_files

KEY_VARIABLE = "WRAPGEN_STEP_KEY"
# Failures a new attempt may cure: killed (preemption, a node lost), staging, a scheduler's refusal.
TRANSIENT_CODES = frozenset({9, 17, 43, 44, 126, 130, 135, 155, 7, 12, 20, 21, 22})


class JobExecutor(Executor):
    """Kernel calls as jobs on one target."""

    def __init__(self, target: str, state: Path | None = None, guid: str = "", **options: Any) -> None:
        super().__init__(target)
        self.guid = guid
        self._options = options
        u = urlsplit(target)
        self._scheme = u.scheme
        self._lock = threading.Lock()
        self._manager: Any = None
        self._client: Any = None
        self._index: dict[str, str] = {}
        self._running: set[str] = set()  # job ids being waited for
        if u.scheme in ("fork", "slurm", "dask"):
            where = re.sub(r"[^A-Za-z0-9_.-]", "_", u.netloc) or "local"
            self._state = (state or Path(".")) / "jobs" / f"{u.scheme}-{where}"
            self._backend_options = dict(options.get("backend_options", {}))
            if u.scheme == "dask" and u.netloc:
                self._backend_options.setdefault("address", u.netloc)

    # --- the job manager -----------------------------------------------------------------------------------------
    def _jobs(self) -> Any:
        with self._lock:
            if self._manager is None and self._client is None:
                if self._scheme in ("http", "https"):
                    from ...gram.client import JobClient

                    self._client = JobClient(self.target, **{k: v for k, v in self._options.items()
                                                             if k in ("cert", "verify")})
                    records = self._client.jobs()
                else:
                    from ...gram.manager import JobManager

                    self._manager = JobManager(self._state, self._scheme,
                                               backend_options=self._backend_options).start()
                    records = [r.as_json() for r in self._manager.jobs()]
                for rec in sorted(records, key=lambda r: r.get("submitted") or 0):
                    key = description_key(rec.get("description") or {})
                    if key and rec["state"] != "FAILED":
                        self._index[key] = rec.get("contact") or rec["id"]
            return self._manager or self._client

    def close(self) -> None:
        """Stop the job manager (jobs go on; the next run takes them up)."""
        with self._lock:
            if self._manager is not None:
                self._manager.stop()
            if self._client is not None:
                self._client.close()
            self._manager = self._client = None

    # --- a call ----------------------------------------------------------------------------------------------------
    def run(self, node: Node, key: str, inputs: dict[str, Path], work: Path, note: Note) -> dict[str, Path]:
        """Submit the kernel job (or re-attach to the one already submitted for this key) and wait for it."""
        from ...gram.kernel import kernel_job

        jobs = self._jobs()
        files = output_files(node, key, work)
        job_id = self._index.get(key)
        if job_id is not None:
            note("attached", job_id)
        else:
            for f in files.values():  # left by an earlier attempt
                f.unlink(missing_ok=True)
            desc = kernel_job(node.spec, node.function or "", inputs={a: f"file://{p}" for a, p in inputs.items()},
                              outputs={n: f"file://{p}" for n, p in files.items()}, params=node.params,
                              environment={KEY_VARIABLE: key, GUID_VARIABLE: self.guid})
            note("submitting", None)  # before the side effect: a crash after it finds the job by its key
            try:
                rec = jobs.submit(desc)
            except GRAMError as exc:
                raise StepFailed(node.name, f"submission refused: {exc}", transient=exc.code in TRANSIENT_CODES) \
                    from None
            job_id = rec["contact"] if isinstance(rec, dict) else rec.id
            with self._lock:
                self._index[key] = job_id
            note("submitted", job_id)
        with self._lock:
            self._running.add(job_id)
        try:
            final = self._wait(job_id)
        finally:
            with self._lock:
                self._running.discard(job_id)
                if self._index.get(key) == job_id:
                    del self._index[key]  # a retry submits anew
        self._check(node, job_id, final)
        return files

    def cancel(self) -> None:
        """Cancel every job this executor is waiting for (GRAM's cancel: the job ends FAILED 8)."""
        with self._lock:
            ids = list(self._running)
        for job_id in ids:
            try:
                if self._manager is not None:
                    self._manager.cancel(job_id)
                elif self._client is not None:
                    self._client.cancel(job_id)
            except (GRAMError, OSError):
                pass  # it ended meanwhile

    def _wait(self, job_id: str) -> dict[str, Any]:
        if self._manager is not None:
            return self._manager.wait(job_id).as_json()
        return self._client.wait(job_id)

    def events(self, job_id: str) -> list[dict[str, Any]]:
        """The job's state changes (for the run's telemetry)."""
        try:
            if self._manager is not None:
                return [e.as_json() for e in self._manager.store.events(job_id)]
            return self._client.events(job_id)
        except (GRAMError, OSError):
            return []

    def _stderr(self, job_id: str) -> str:
        try:
            if self._manager is not None:
                data = (Path(self._manager.get(job_id).control) / "stderr").read_bytes()
            else:
                data = self._client.output(job_id, "stderr")
        except (GRAMError, OSError):
            return ""
        return data[-4000:].decode(errors="replace")

    def _check(self, node: Node, job_id: str, final: dict[str, Any]) -> None:
        exit_code, code = final.get("exit_code"), final.get("failure_code") or 0
        if final["state"] == "DONE" and exit_code == 0:
            return
        from ...bind.call import last_failure

        tail = self._stderr(job_id)
        why = last_failure(tail) or final.get("cause") or ""
        if exit_code not in (None, 0):
            # The kernel ran and said no (exit 1: its error; 2: bad arguments): the same call would again.
            killed = exit_code > 128
            raise StepFailed(node.name, f"job {job_id} exit status {exit_code}: {why}", transient=killed,
                             stderr=tail)
        raise StepFailed(node.name, f"job {job_id} FAILED ({code}): {final.get('cause')}",
                         transient=code in TRANSIENT_CODES, stderr=tail)


def description_key(description: dict[str, Any]) -> str | None:
    """The step key a job's description carries, if any."""
    env = description.get("environment") or {}
    return env.get(KEY_VARIABLE) if isinstance(env, dict) else None


__all__ = ["JobExecutor", "KEY_VARIABLE", "description_key"]
