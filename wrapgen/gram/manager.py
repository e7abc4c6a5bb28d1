"""The job manager: takes jobs, drives each through GRAM's states on a backend, and survives being killed.

Every step is written to the job store before its side effect (the state before staging, `launching` before the
backend starts anything, the native id right after), so a manager started on the same state directory after a
kill -9 takes every unfinished job up where it was: staging is redone (it is idempotent), a launch whose id was
not recorded is settled by the backend's exactly-once token, a running job is re-attached by its native id, and a
job whose outcome cannot be known is FAILED with the reason, never DONE. Each job belongs to the identity that
submitted it; another identity can neither see nor touch it (JobNotFound, as if it did not exist).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from .. import egress, proc
from .backends import Backend, Launch, backend as make_backend
from .description import JobDescription, substitute
from .errors import GRAMError, JobNotFound
from .staging import Staging, local, stage_in, stage_out
from .state import JobState, Signal
from .store import Event, JobRecord, JobStore

S = JobState


class JobManager:
    """Jobs on one backend, their state in `state/jobs.db`, their files under `state/jobs/<id>/`."""

    def __init__(self, state: str | os.PathLike[str], backend: str | Backend = "fork", *,
                 backend_options: dict[str, Any] | None = None, sweep_interval: float = 1.0,
                 callback_allow: list[str] | tuple[str, ...] = ()) -> None:
        self.state_dir = Path(state).resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.state_dir / "jobs").mkdir(exist_ok=True, mode=0o700)
        self.store = JobStore(self.state_dir / "jobs.db")
        self.backend = backend if isinstance(backend, Backend) else make_backend(backend, **(backend_options or {}))
        self.sweep_interval = sweep_interval
        try:
            self.callback_allow = egress.networks(callback_allow, "--callback-allow")
        except ValueError as exc:
            raise GRAMError(str(exc), code=77) from None
        self.contact_base: str | None = None  # http(s)://host:port/jobs of a server in front, for callbacks
        self._changed = threading.Condition()
        self._drivers: dict[str, threading.Thread] = {}
        self._staging: dict[str, Staging] = {}
        self._stopped: set[str] = set()  # jobs this manager has asked the backend to stop
        self._env = dict(os.environ)  # the jobs' base environment (copying os.environ per job costs ~0.3 ms)
        self._launches: dict[str, Launch] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._deliverer: threading.Thread | None = None
        self._lock_fd: int | None = None

    # --- lifetime ------------------------------------------------------------------------------------------------
    def start(self) -> JobManager:
        """Take up every unfinished job, then accept new ones (one manager per state directory: two would drive
        the same jobs)."""
        if self._lock_fd is not None:
            return self
        self._lock_fd = _lock(self.state_dir / "manager.lock")
        self._stopping.clear()
        for rec in self.store.unfinished():
            self._drive(rec.id)
        self._sweeper = threading.Thread(target=self._sweep, name="jobs-sweeper", daemon=True)
        self._sweeper.start()
        self._deliverer = threading.Thread(target=self._deliver, name="jobs-callbacks", daemon=True)
        self._deliverer.start()
        return self

    def stop(self) -> None:
        """Stop driving jobs; running jobs go on and the next manager takes them up."""
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        for t in list(self._drivers.values()) + [t for t in (self._sweeper, self._deliverer) if t]:
            t.join(timeout=10)
        self.backend.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> JobManager:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the API -------------------------------------------------------------------------------------------------
    def submit(self, job: JobDescription | str, owner: str | None = None) -> JobRecord:
        """Accept a job (a description or RSL); returns its record (UNSUBMITTED: the driver takes it from there).
        RSLError for a request that is not a job; GRAMError 41 for a dry run (valid; nothing is run)."""
        if isinstance(job, str):
            desc = JobDescription.from_rsl(job, self._predefined(), backends=_rvf_of(self.backend.name))
        else:
            desc = job
        job_id = secrets.token_hex(12)
        control = self.state_dir / "jobs" / job_id
        desc = self._resolve(desc, control)
        if desc.dry_run:
            raise GRAMError("dry run: the request is valid; nothing was staged or run", code=41)
        control.mkdir(mode=0o700)
        directory = Path(desc.directory) if desc.directory else control / "work"
        directory.mkdir(parents=True, exist_ok=True)
        deadline = time.time() + desc.two_phase if desc.two_phase is not None else None
        rec = self.store.create(job_id, owner, desc.model_dump_json(), S.UNSUBMITTED, str(control), str(directory),
                                deadline, float(desc.expiration))
        self._notify()
        self._drive(job_id)
        return rec

    def get(self, job_id: str, owner: str | None = None, admin: bool = False) -> JobRecord:
        """The job's record; JobNotFound if there is none the caller may see."""
        rec = self.store.get(job_id) if isinstance(job_id, str) and job_id.isalnum() else None
        if rec is None or (rec.owner != owner and not admin):
            raise JobNotFound(f"no job {job_id!r} (the job contact does not match any job of yours)")
        return rec

    def jobs(self, owner: str | None = None, admin: bool = False) -> list[JobRecord]:
        """The caller's jobs (every job for an admin)."""
        return self.store.jobs(owner, everyone=admin)

    def cancel(self, job_id: str, owner: str | None = None, admin: bool = False) -> JobRecord:
        """Stop the job wherever it is (staging, waiting, running); it ends FAILED 8."""
        return self.signal(job_id, Signal.CANCEL, None, owner, admin)

    def signal(self, job_id: str, sig: Signal | int, arg: Any = None, owner: str | None = None,
               admin: bool = False) -> JobRecord:
        """GRAM's signals: CANCEL, SUSPEND, RESUME, PRIORITY n, COMMIT_REQUEST, COMMIT_EXTEND seconds, COMMIT_END."""
        rec = self.get(job_id, owner, admin)
        try:
            sig = Signal(int(sig))
        except ValueError:
            raise GRAMError(f"signal {sig!r}: expected one of {', '.join(s.name for s in Signal)}", code=108) from None
        state = rec.job_state
        if sig == Signal.CANCEL:
            if state.terminal:
                raise GRAMError(f"the job is already {state.name}", code=31)
            self.store.update(job_id, cancel_requested=1)
            staging = self._staging.get(job_id)
            if staging is not None:
                staging.abort()
            if rec.native_id and state in (S.PENDING, S.ACTIVE, S.SUSPENDED):
                self.backend.cancel(self._launch(rec), rec.native_id)
        elif sig in (Signal.SUSPEND, Signal.RESUME):
            want, to = (S.ACTIVE, S.SUSPENDED) if sig == Signal.SUSPEND else (S.SUSPENDED, S.ACTIVE)
            if state != want or not rec.native_id:
                raise GRAMError(f"{sig.name}: the job is {state.name}, not {want.name}", code=107)
            (self.backend.suspend if sig == Signal.SUSPEND else self.backend.resume)(self._launch(rec), rec.native_id)
            self.store.move(job_id, want, to)
        elif sig == Signal.PRIORITY:
            self._priority(rec, arg)
        elif sig in (Signal.COMMIT_REQUEST, Signal.COMMIT_EXTEND):
            if rec.commit_deadline is None or state != S.UNSUBMITTED or rec.committed:
                raise GRAMError(f"{sig.name}: the job is not waiting for a commit", code=133)
            if sig == Signal.COMMIT_REQUEST:
                self.store.update(job_id, committed=1)
            else:
                self.store.update(job_id, commit_deadline=rec.commit_deadline + _seconds(arg, sig))
        elif sig == Signal.COMMIT_END:
            if not state.terminal:
                raise GRAMError("COMMIT_END: the job has not ended", code=133)
            self.store.update(job_id, ended_ack=1)
        else:
            raise GRAMError(f"signal {sig.name} is not supported by this job manager", code=108)
        self._notify()
        return self.store.get(job_id) or rec

    def wait(self, job_id: str, timeout: float | None = None, *, owner: str | None = None,
             admin: bool = False) -> JobRecord:
        """The record once the job is DONE or FAILED (or as it is when timeout passes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            rec = self.get(job_id, owner, admin)
            if rec.job_state.terminal or self._stopping.is_set():
                return rec
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return rec
            with self._changed:
                self._changed.wait(0.5 if left is None else min(left, 0.5))

    def events(self, job_id: str, after: int = 0, timeout: float = 0.0, *, owner: str | None = None,
               admin: bool = False) -> list[Event]:
        """The job's state changes after sequence number `after`, waiting up to timeout for one."""
        deadline = time.monotonic() + timeout
        while True:
            self.get(job_id, owner, admin)
            got = self.store.events(job_id, after)
            left = deadline - time.monotonic()
            if got or left <= 0 or self._stopping.is_set():
                return got
            with self._changed:
                self._changed.wait(min(left, 0.5))

    def add_callback(self, job_id: str, url: str, mask: int, owner: str | None = None, admin: bool = False) -> None:
        """Push the job's state changes in mask (gram.state bits) to url, in order, from its first state on
        (GRAM's "register"); refused (77) for a URL this manager may not send to."""
        self.get(job_id, owner, admin)
        if not 0 < mask <= 0xFFFFF:
            raise GRAMError(f"callback mask {mask}: expected a sum of state bits (1 PENDING ... 128 STAGE_OUT)", code=77)
        try:
            egress.check(url, self.callback_allow, "--callback-allow", "callback")
        except egress.EgressRefused as exc:
            raise GRAMError(f"callback {url}: {exc}", code=77) from None
        self.store.add_callback(job_id, url, mask)
        self._notify()

    def remove_callback(self, job_id: str, url: str, owner: str | None = None, admin: bool = False) -> None:
        """Stop pushing to url (GRAM's "unregister"); 78 if it was not registered."""
        self.get(job_id, owner, admin)
        if not self.store.remove_callback(job_id, url):
            raise GRAMError(f"callback {url} is not registered for job {job_id}", code=78)

    def _deliver(self) -> None:
        """POST each registered callback its events, in order; a callback that fails waits (doubling, up to a
        minute) and keeps its place; one that fails for an hour is dropped."""
        import json
        import urllib.request

        opener = egress.opener()
        waiting: dict[tuple[str, str], tuple[float, float, float]] = {}  # -> (next try, delay, failing since)
        while not self._stopping.is_set():
            with self._changed:
                self._changed.wait(0.2)
            for job, url, mask, delivered in self.store.callbacks():
                key = (job, url)
                now = time.monotonic()
                if key in waiting and waiting[key][0] > now:
                    continue
                events = self.store.events(job, delivered)
                if not events:
                    rec = self.store.get(job)
                    if rec is None or rec.job_state.terminal:
                        self.store.remove_callback(job, url)  # everything said
                    continue
                for e in events:
                    if e.state & mask:
                        body = {**e.as_json(), "contact": f"{self.contact_base}/{job}" if self.contact_base else None}
                        try:
                            egress.check(url, self.callback_allow, "--callback-allow", "callback")
                            req = urllib.request.Request(url, json.dumps(body).encode(), method="POST",
                                                         headers={"Content-Type": "application/json"})
                            with opener.open(req, timeout=5) as r:
                                r.read(1 << 16)
                        except (OSError, ValueError, egress.EgressRefused):
                            delay = min(60.0, waiting.get(key, (0, 0.25, now))[1] * 2)
                            since = waiting.get(key, (0, 0, now))[2]
                            if now - since > 3600:
                                self.store.remove_callback(job, url)
                                waiting.pop(key, None)
                            else:
                                waiting[key] = (now + delay, delay, since)
                            break
                    self.store.delivered(job, url, e.seq)
                    waiting.pop(key, None)

    # --- driving a job -------------------------------------------------------------------------------------------
    def _drive(self, job_id: str) -> None:
        t = threading.Thread(target=self._run, args=(job_id,), name=f"job-{job_id[:8]}", daemon=True)
        with self._lock:
            self._drivers[job_id] = t
        t.start()

    def _run(self, job_id: str) -> None:
        try:
            while not self._stopping.is_set():
                rec = self.store.get(job_id)
                if rec is None or rec.job_state.terminal:
                    break
                self._step(rec)
        except Exception as exc:  # a bug must not leave the job in a state nobody drives
            rec = self.store.get(job_id)
            if rec is not None and not rec.job_state.terminal:
                self._fail(rec, 17, f"the job manager failed while driving the job: {type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._drivers.pop(job_id, None)
                self._launches.pop(job_id, None)
            self._notify()

    def _step(self, rec: JobRecord) -> None:
        """One move of the job's state machine (each branch leaves the job in a later state or FAILED)."""
        state = rec.job_state
        launched = state in (S.ACTIVE, S.SUSPENDED) or (state == S.PENDING and (rec.native_id or rec.launching))
        if rec.cancel_requested and not launched:  # a launched job is stopped by the backend, then failed
            self._fail(rec, 8, "cancelled by its owner")
            return
        desc = JobDescription.model_validate_json(rec.description)
        if state == S.UNSUBMITTED:
            if rec.commit_deadline is not None and not rec.committed:
                if time.time() > rec.commit_deadline:
                    self._fail(rec, 111, "two-phase commit: no COMMIT_REQUEST came in time; the job was not run")
                else:
                    with self._changed:
                        self._changed.wait(min(0.5, max(0.0, rec.commit_deadline - time.time())))
                return
            inputs = desc.file_stage_in or (desc.stdin and "://" in desc.stdin)
            if inputs:
                self._move(rec, S.STAGE_IN)
            else:
                self._launch_job(rec, desc, arriving=S.UNSUBMITTED)
        elif state == S.STAGE_IN:
            self._staged(rec, desc, inbound=True)
        elif state == S.PENDING:
            self._launch_job(rec, desc)
        elif state in (S.ACTIVE, S.SUSPENDED):
            self._watch(rec, desc)
        elif state == S.STAGE_OUT:
            self._staged(rec, desc, inbound=False)

    def _staged(self, rec: JobRecord, desc: JobDescription, inbound: bool) -> None:
        staging = Staging()
        with self._lock:
            self._staging[rec.id] = staging
        directory = Path(rec.directory)
        try:
            if inbound:
                pairs = list(desc.file_stage_in)
                if desc.stdin and "://" in desc.stdin:
                    pairs.append((desc.stdin, str(Path(rec.control) / "stdin")))
                stage_in(staging, pairs, directory)
            else:
                pairs = list(desc.file_stage_out)
                for name in ("stdout", "stderr"):
                    target = getattr(desc, name)
                    if target and "://" in target:
                        pairs.append((str(Path(rec.control) / name), target))
                stage_out(staging, pairs, directory)
        except GRAMError as exc:
            cause = str(exc)
            if not inbound and rec.exit_code:  # the likelier reason an output is missing
                cause += f" (the job had ended with exit status {rec.exit_code}{_tail(Path(rec.control) / 'stderr')})"
            self._fail(rec, 8 if exc.code == 8 or self._cancelled(rec) else exc.code, cause, rec.exit_code)
            return
        finally:
            with self._lock:
                self._staging.pop(rec.id, None)
        if self._cancelled(rec):
            self._fail(rec, 8, "cancelled by its owner")
            return
        if inbound:
            self._launch_job(self.store.get(rec.id) or rec, desc, arriving=S.STAGE_IN)
        else:
            self._finish(rec, S.DONE, 0, rec.exit_code, rec.cause)

    def _launch_job(self, rec: JobRecord, desc: JobDescription, arriving: JobState | None = None) -> None:
        """Launch (or settle an interrupted launch of) a PENDING job; with `arriving` (UNSUBMITTED, STAGE_IN) the
        move to PENDING and the launch mark are one write, as the launch id and the move to ACTIVE are."""
        launch = self._launch(rec, desc)
        native, attempt = rec.native_id, rec.launching  # launching: the number of the last launch attempt
        if native is None and attempt and arriving is None:  # a manager died mid-launch: did that attempt start?
            native = self.backend.settle(dataclasses.replace(launch, attempt=attempt))
        if native is None:  # it never will: launch again, as a new attempt with a claim file of its own
            if self._cancelled(rec):
                self._fail(rec, 8, "cancelled by its owner")
                return
            attempt += 1
            # written before the side effect
            if arriving is not None:
                if not self.store.move(rec.id, arriving, S.PENDING, launching=attempt):
                    return  # moved meanwhile (cancelled): the next step sees where it is
                self._notify()
            else:
                self.store.update(rec.id, launching=attempt)
            try:
                native = self.backend.launch(dataclasses.replace(launch, attempt=attempt))
            except GRAMError as exc:
                self._fail(rec, exc.code or 17, str(exc))
                return
            except OSError as exc:
                self._fail(rec, 17, f"the job could not be started: {exc}")
                return
        self.store.move(rec.id, S.PENDING, S.ACTIVE, native_id=native, started=rec.started or time.time())
        self._notify()

    def _watch(self, rec: JobRecord, desc: JobDescription) -> None:
        launch = self._launch(rec, desc)
        assert rec.native_id is not None
        outcome = self.backend.wait(launch, rec.native_id, 0.5)
        if outcome is None:
            stopping = rec.id in self._stopped
            if rec.cancel_requested and not stopping:
                self._stopped.add(rec.id)
                self.backend.cancel(launch, rec.native_id)
            elif desc.max_wall_time is not None and rec.started and not stopping \
                    and time.time() - rec.started > desc.max_wall_time * 60:
                self._stopped.add(rec.id)
                self.store.update(rec.id, cause=f"max_wall_time of {desc.max_wall_time} minutes reached")
                self.backend.cancel(launch, rec.native_id)
            return
        self._stopped.discard(rec.id)
        rec = self.store.get(rec.id) or rec
        if rec.cancel_requested:
            self._fail(rec, 8, "cancelled by its owner", outcome.exit_code)
        elif rec.cause.startswith("max_wall_time"):
            self._fail(rec, 17, rec.cause + "; the job was stopped", outcome.exit_code)
        elif outcome.failure_code:
            self._fail(rec, outcome.failure_code, outcome.cause, outcome.exit_code)
        elif desc.file_stage_out or any(t and "://" in t for t in (desc.stdout, desc.stderr)):
            self._move(rec, S.STAGE_OUT, exit_code=outcome.exit_code, cause=outcome.cause)
        else:
            self._finish(rec, S.DONE, 0, outcome.exit_code, outcome.cause)

    # --- helpers -------------------------------------------------------------------------------------------------
    def _launch(self, rec: JobRecord, desc: JobDescription | None = None) -> Launch:
        made = self._launches.get(rec.id)
        if made is not None:
            return made
        desc = desc or JobDescription.model_validate_json(rec.description)
        control, directory = Path(rec.control), Path(rec.directory)

        def stdio(value: str | None, name: str, default: Path) -> Path:
            if value is None:
                return default
            if "://" in value:
                return control / name
            p = Path(value)
            return p if p.is_absolute() else directory / p

        env = {**self._env, **desc.environment}
        if desc.library_path:
            env["LD_LIBRARY_PATH"] = os.pathsep.join([*desc.library_path, *filter(None, [env.get("LD_LIBRARY_PATH")])])
        env["GRAM_JOB_ID"] = rec.id
        made = self._launches[rec.id] = Launch(
                      job_id=rec.id, argv=[desc.executable, *desc.arguments], directory=directory, control=control,
                      environment=env, stdin=stdio(desc.stdin, "stdin", Path(os.devnull)),
                      stdout=stdio(desc.stdout, "stdout", control / "stdout"),
                      stderr=stdio(desc.stderr, "stderr", control / "stderr"),
                      count=1 if desc.job_type == "single" else desc.count, max_wall_time=desc.max_wall_time,
                      max_cpu_time=desc.max_cpu_time, max_memory=desc.max_memory, queue=desc.queue,
                      project=desc.project, host_count=desc.host_count, extras=dict(desc.extras))
        return made

    def _predefined(self, control: Path | None = None) -> dict[str, str]:
        home = os.path.expanduser("~")
        user = os.environ.get("LOGNAME") or os.environ.get("USER") or ""
        out = {"HOME": home, "LOGNAME": user, "GLOBUS_USER_HOME": home, "GLOBUS_USER_NAME": user}
        if control is not None:
            out["GLOBUS_JOB_DIRECTORY"] = str(control)
        return out

    def _resolve(self, desc: JobDescription, control: Path) -> JobDescription:
        """$(NAME) references in every string replaced (RSLError 39 for an unknown one); scratch_dir made."""
        values = self._predefined(control)
        if desc.scratch_dir:
            scratch = Path(substitute(desc.scratch_dir, values)) / control.name
            values["SCRATCH_DIRECTORY"] = str(scratch)
        out = desc.substituted(values)
        if desc.scratch_dir:
            Path(values["SCRATCH_DIRECTORY"]).mkdir(parents=True, exist_ok=True, mode=0o700)
        return out

    def _priority(self, rec: JobRecord, arg: Any) -> None:
        if not rec.native_id or rec.job_state not in (S.ACTIVE, S.SUSPENDED):
            raise GRAMError("PRIORITY: the job is not running", code=107)
        try:
            nice = int(arg)
        except (TypeError, ValueError):
            raise GRAMError(f"PRIORITY {arg!r}: expected a niceness from 0 to 19", code=107) from None
        if not 0 <= nice <= 19:
            raise GRAMError(f"PRIORITY {nice}: expected a niceness from 0 to 19", code=107)
        try:
            os.setpriority(os.PRIO_PGRP, int(rec.native_id.split(":")[0]), nice)
        except (OSError, ValueError) as exc:
            raise GRAMError(f"PRIORITY: {exc}", code=107) from None

    def _cancelled(self, rec: JobRecord) -> bool:
        now = self.store.get(rec.id)
        return bool(now and now.cancel_requested)

    def _move(self, rec: JobRecord, to: JobState, **changes: Any) -> None:
        self.store.move(rec.id, rec.job_state, to, **changes)
        self._notify()

    def _fail(self, rec: JobRecord, code: int, cause: str, exit_code: int | None = None) -> None:
        self._finish(rec, S.FAILED, code, exit_code, cause)

    def _finish(self, rec: JobRecord, to: JobState, code: int, exit_code: int | None, cause: str) -> None:
        now = self.store.get(rec.id) or rec
        if now.job_state.terminal:
            return
        self.store.move(rec.id, now.job_state, to, failure_code=code, exit_code=exit_code, cause=cause)
        desc = JobDescription.model_validate_json(rec.description)
        for name in desc.file_clean_up:
            p = local(Path(rec.directory), name).path
            try:
                shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)
            except OSError:
                pass  # gone already, or not ours to remove: the job's outcome is recorded either way
        self._notify()

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _sweep(self) -> None:
        while not self._stopping.wait(self.sweep_interval):
            for rec in self.store.expired(time.time()):
                self.store.delete(rec.id)
                shutil.rmtree(rec.control, ignore_errors=True)


def _tail(path: Path) -> str:
    """proc.log_tail of the end of a file (the job's stderr), or ''."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - proc.TAIL_CHARS))
            return proc.log_tail(f.read().decode(errors="replace"))
    except OSError:
        return ""


def _rvf_of(backend: str) -> tuple[str, ...]:
    """The backend's own attribute file (data/<backend>.rvf), if it has one."""
    from importlib import resources

    return (backend,) if resources.files("wrapgen.gram").joinpath("data", f"{backend}.rvf").is_file() else ()


def _lock(path: Path) -> int:
    """An exclusive lock held while this manager runs (released by the kernel if the process dies)."""
    got = proc.lock_exclusive(path)
    if isinstance(got, str):
        raise GRAMError(f"the job state in {path.parent} is managed by {got}; stop that job manager first "
                        "(or use another state directory)", code=124)
    return got


def _seconds(arg: Any, sig: Signal) -> float:
    try:
        n = float(arg)
    except (TypeError, ValueError):
        raise GRAMError(f"{sig.name} {arg!r}: expected a number of seconds", code=107) from None
    if not 0 <= n <= 86400 * 30:
        raise GRAMError(f"{sig.name} {n}: expected 0 to 30 days of seconds", code=107)
    return n
