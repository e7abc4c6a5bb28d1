"""The driver: plans, runs what must run on a thread pool, journals every step before and after, retries what a
retry can cure, and stops at nothing a kill -9 cannot resume. The planner decides; executors and staging act."""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .. import proc
from .cache import DigestCache, Objects
from .errors import PipelineError, StepFailed
from ..netlogger import EventLog
from .executors import Executor, make_executor
from .graph import Graph, Node, paused_gc
from .journal import Journal
from .plan import BLOCKED, CACHED, DONE, FAILED, Decision, Planner
from .progress import Progress
from .result import NOT_RUN, NodeResult, RunResult
from .staging import Meter, Staging

EVENT = "wrapgen.pipeline"
PROGRESS = 0.5  # seconds between a transfer's progress events (the editor draws bytes and rate from them)


def state_dir(graph: Graph, state: str | os.PathLike[str] | None) -> Path:
    """Where a pipeline keeps its journal and content store: given, else .wrapgen/<name> beside its file."""
    if state is not None:
        return Path(state).resolve()
    base = graph.source.resolve().parent if graph.source else Path.cwd()
    return base / ".wrapgen" / graph.name


class Engine:
    """Runs one graph against one state directory (one driver at a time: a flock the kernel frees on kill -9)."""

    def __init__(self, graph: Graph, state: Path, workers: int | None = None,
                 executor_options: dict[str, Any] | None = None, registry: Any = None, progress: bool = False,
                 otlp: str | None = None, force: frozenset[str] = frozenset()) -> None:
        self.graph, self.state, self.force = graph, state, force
        self.workers = workers or max(2, os.cpu_count() or 2)
        self.progress, self.otlp = progress, otlp
        self.previous: dict[str, tuple[str, dict[str, Any]]] = {}
        self._cancelled = threading.Event()
        self._staging: Staging | None = None
        self.executor_options = executor_options or {}
        self.registry = registry
        self._executors: dict[str, Executor] = {}
        self._lock = threading.Lock()
        self.planner: Planner | None = None

    # --- the edges the planner asks about ------------------------------------------------------------------------
    def static(self, staging: Staging, pool: ThreadPoolExecutor) -> dict[str, dict[str, Any]]:
        """Facts the keys need that only I/O finds: kernels' identities, what stage-in sources hold."""
        from ..bind.cache import kernel_identity

        out: dict[str, dict[str, Any]] = {}
        kernels: dict[str, str] = {}
        probes: dict[str, Future[dict[str, Any]]] = {}
        interfaces: dict[str, Future[str]] = {}
        calls: dict[str, str] = {}
        for node in self.graph.nodes.values():
            if node.kind == "compute":
                spec = str(node.spec)
                if spec not in kernels:
                    kernels[spec] = kernel_identity(node.library)
                out[node.name] = {"kernel": kernels[spec]}
            elif node.kind == "call":
                if node.url not in interfaces:
                    interfaces[node.url or ""] = pool.submit(self._interface, node.url or "")
                calls[node.name] = node.url or ""
            elif node.kind == "stage_in":
                if node.sha256:
                    out[node.name] = {"probe": {"sha256": node.sha256}}
                elif node.url and node.url.startswith("file://"):
                    out[node.name] = {"probe": self._probe(staging, node)}
                else:
                    probes[node.name] = pool.submit(self._probe, staging, node)
        for name, f in probes.items():
            out[name] = {"probe": f.result()}
        for name, url in calls.items():
            out[name] = {"interface": interfaces[url].result()}
        return out

    @staticmethod
    def _interface(url: str) -> str:
        from .executors.call import interface_digest

        try:
            return interface_digest(url)
        except StepFailed as exc:
            # no key can say what the service offers: the step runs, and its call fails with the cause
            return f"unreachable at {time.time()}: {exc.cause}"

    @staticmethod
    def _probe(staging: Staging, node: Node) -> dict[str, Any]:
        try:
            return staging.probe(node.url or "", node.verify)
        except StepFailed as exc:
            # No key can say what is there: the step runs and fails with this cause -- at once if retrying
            # cannot help (no such file), else through its fetch and retries (a server that is down).
            return {"unreachable": exc.cause, "transient": exc.transient, "at": time.time()}

    def _have(self, objects: Objects, staging: Staging) -> Any:
        def have(node: str, outputs: dict[str, str]) -> bool:
            if not all(objects.has(d) for d in outputs.values()):
                return False
            n = self.graph.nodes[node]
            if n.kind == "stage_out":
                w = n.wires[0]
                digest = self.planner.outputs[w.node][w.output] if self.planner else ""
                return staging.delivered(n.url or "", objects.path(digest).stat().st_size)
            return True
        return have

    # --- cancelling ---------------------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop the run from another thread (or a signal handler): nothing new starts, transfers in progress are
        aborted, jobs are cancelled; in-process calls finish. The next run resumes where this one stopped."""
        self._cancelled.set()
        if self._staging is not None:
            self._staging.abort()
        with self._lock:
            executors = list(self._executors.values())
        for ex in executors:
            ex.cancel()

    # --- a plan ----------------------------------------------------------------------------------------------------
    def plan(self) -> Planner:
        """What a run would do now (nothing is run; digests computed on the way are remembered)."""
        self.state.mkdir(parents=True, exist_ok=True, mode=0o700)  # outputs and logs are the owner's alone
        journal = Journal(self.state / "journal.db")
        digests = DigestCache(journal.digests())
        staging = Staging(digests, self.registry)
        try:
            with ThreadPoolExecutor(self.workers) as pool:
                planner = self._planner(journal, Objects(self.state / "objects", journal), staging, pool)
            with paused_gc():
                planner.start()
            journal.remember_digests(digests.take_new())
        finally:
            staging.close()
            journal.close()
        return planner

    def _planner(self, journal: Journal, objects: Objects, staging: Staging, pool: ThreadPoolExecutor) -> Planner:
        """The planner over what the journal knows and what the sources hold now."""
        static = self.static(staging, pool)
        self.previous = journal.previous()
        self.planner = Planner(self.graph, journal.known(), self.previous, static, self._have(objects, staging),
                               self.force)
        return self.planner

    def result_time(self, key: str | None) -> str:
        """When the result for key was recorded, as local time."""
        journal = Journal(self.state / "journal.db")
        try:
            row = journal.result(key or "")
        finally:
            journal.close()
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["at"])) if row else "?"

    # --- a run -----------------------------------------------------------------------------------------------------
    def run(self) -> RunResult:
        """Run the graph to the end (every node done, cached, failed or blocked)."""
        self.state.mkdir(parents=True, exist_ok=True, mode=0o700)  # outputs and logs are the owner's alone
        held = proc.lock_exclusive(self.state / "driver.lock")
        if isinstance(held, str):
            raise PipelineError(f"{self.state}: another run of this pipeline is in progress ({held}); wait for it "
                                "to end (a run that was killed holds nothing: just run again)")
        try:
            return self._run()
        finally:
            os.close(held)

    def _run(self) -> RunResult:
        t0 = time.time()
        journal = Journal(self.state / "journal.db")
        objects = Objects(self.state / "objects", journal)
        digests = DigestCache(journal.digests())
        staging = self._staging = Staging(digests, self.registry)
        guid = self._guid = uuid.uuid4().hex
        log = EventLog(self.state / "runs" / f"{guid}.log", guid)
        results: dict[str, NodeResult] = {}
        journal.begin_run(guid, self.graph.name)
        log.start(f"{EVENT}.run", pipeline=self.graph.name, nodes=len(self.graph.nodes), pid=os.getpid())
        (self.state / "work").mkdir(exist_ok=True)
        (self.state / "tmp").mkdir(exist_ok=True)
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="step")
        status = "failed"
        try:
            planner = self._planner(journal, objects, staging, pool)
            previous = self.previous
            self._attempts = journal.attempt_numbers()
            running: dict[Future[Any], Decision] = {}
            ended: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()  # O(1) per step, unlike wait()

            def launch(ready: list[Decision]) -> None:
                for d in ready:
                    if self._cancelled.is_set():
                        break
                    planner.running(d.node)
                    f = pool.submit(self._execute, self.graph.nodes[d.node], d, journal, objects, staging, log)
                    running[f] = d
                    f.add_done_callback(ended.put)

            with paused_gc():  # deciding thousands of cached nodes allocates much and frees little
                launch(planner.start())
            bar = Progress(len(self.graph.nodes), planner.counts().get(CACHED, 0)) if self.progress else None
            while running:
                finished = [ended.get()]
                while not ended.empty():
                    finished.append(ended.get())
                for f in finished:
                    d = running.pop(f)
                    node = self.graph.nodes[d.node]
                    try:
                        outputs, attempts, seconds = f.result()
                    except StepFailed as exc:
                        results[d.node] = NodeResult(d.node, node.step, FAILED, d.key, node.point, cause=exc.cause,
                                                     attempts=exc.attempts, placement=node.placement)
                        for b in planner.failed(d.node):
                            bn = self.graph.nodes[b]
                            results[b] = NodeResult(b, bn.step, BLOCKED, None, bn.point, cause=f"{d.node} failed",
                                                    placement=bn.placement)
                        continue
                    results[d.node] = NodeResult(d.node, node.step, DONE, d.key, node.point, outputs,
                                                 attempts=attempts, seconds=seconds, placement=node.placement)
                    launch(planner.finished(d.node, outputs))
                    for cut in planner.cutoff:  # their inputs were remade with the same bytes: nothing to do
                        log.write(f"{EVENT}.cutoff", node=cut, after=d.node)
                    planner.cutoff.clear()
                if bar is not None:
                    bar.update(planner.counts())
            cached = []
            for name, dec in planner.decisions.items():
                if dec.status == CACHED:
                    n = self.graph.nodes[name]
                    results[name] = NodeResult(name, n.step, CACHED, dec.key, n.point, planner.outputs[name],
                                               placement=n.placement)
                    if previous.get(name, ("",))[0] != dec.key:
                        cached.append((name, dec.key or "", dec.record or {}))
            for name, dec in planner.decisions.items():
                if name not in results:  # decided to run, or waiting, when the run was cancelled
                    n = self.graph.nodes[name]
                    results[name] = NodeResult(name, n.step, NOT_RUN, dec.key, n.point, cause="the run was cancelled",
                                               placement=n.placement)
            journal.set_latest(cached)
            status = "cancelled" if self._cancelled.is_set() else \
                "done" if all(r.status in (CACHED, DONE) for r in results.values()) else "failed"
        finally:
            if self.progress and "bar" in locals() and bar is not None:
                bar.close()
            pool.shutdown(wait=True, cancel_futures=True)
            for ex in self._executors.values():
                ex.close()
            journal.remember_digests(digests.take_new())
            counts = dict(Counter(r.status for r in results.values()))
            summary = {"counts": counts, "staging": staging.tally.as_json(), "seconds": time.time() - t0}
            log.write(f"{EVENT}.cached", nodes=counts.get(CACHED, 0))
            log.end(f"{EVENT}.run", 0 if status == "done" else -1, pipeline=self.graph.name,
                    **{f"n.{k}": v for k, v in counts.items()})
            journal.end_run(guid, status, summary)
            staging.close()
            log.close()
            journal.close()
        self._export(log.path)
        return RunResult(guid, self.graph.name, self.state, results, staging.tally.as_json(), time.time() - t0,
                         log.path, self._cancelled.is_set())

    def _export(self, log: Path) -> None:
        """Send the run's spans to the OTLP endpoint, if one is configured; a failure costs a warning only."""
        from . import otel

        url = otel.endpoint(self.otlp)
        if url is None:
            return
        try:
            otel.export(log, url)
        except Exception as exc:  # noqa: BLE001 - telemetry must never fail a run; the log has everything
            print(f"wrapgen: spans not exported to {url}: {exc} (the run's log keeps them: wrapgen report "
                  f"--otlp URL)", file=sys.stderr)

    # --- one node --------------------------------------------------------------------------------------------------
    def _executor(self, placement: str) -> Executor:
        with self._lock:
            ex = self._executors.get(placement)
            if ex is None:
                opts = dict(self.executor_options)
                if placement.startswith("job:"):
                    opts.update(state=self.state, guid=self._guid)
                ex = self._executors[placement] = make_executor(placement, **opts)
            return ex

    def _execute(self, node: Node, d: Decision, journal: Journal, objects: Objects, staging: Staging,
                 log: EventLog) -> tuple[dict[str, str], int, float]:
        """Run one node with its retries; (outputs, attempts, seconds). Raises StepFailed when it gives up."""
        key = d.key or ""
        first = self._attempts.get(key, 0) + 1
        for i in range(node.retries + 1):
            if self._cancelled.is_set():
                raise StepFailed(node.name, "cancelled before it started")
            attempt = first + i
            t = time.monotonic()
            if node.kind != "compute" or node.placement != "local":
                # before the side effect (a transfer, a job, a service call) that a rerun must know of; an
                # in-process call dies with its driver, and the BP log has its start anyway
                journal.event(log.guid, node.name, key, "started", attempt, info={"placement": node.placement})
            log.start(f"{EVENT}.step", node=node.name, key=key[:16], kind=node.kind, placement=node.placement,
                      attempt=attempt)
            try:
                try:
                    outputs, blobs = self._do(node, key, attempt, journal, objects, staging, log)
                except StepFailed:
                    raise
                except Exception as exc:  # a bug or an unforeseen error: this step fails, the run goes on
                    import traceback

                    raise StepFailed(node.name, f"{type(exc).__name__}: {exc}",
                                     stderr=traceback.format_exc()) from None
                seconds = time.monotonic() - t
                journal.record_result(key, node.name, outputs, d.record or {}, log.guid, node.placement, seconds,
                                      attempt, blobs)
                objects.stored_inline(list(blobs))
                log.end(f"{EVENT}.step", 0, node=node.name, key=key[:16], kind=node.kind, attempt=attempt,
                        seconds=round(seconds, 6))
                for name in outputs:
                    (self.state / "work" / f"{key}.{name}").unlink(missing_ok=True)
                return outputs, i + 1, seconds
            except StepFailed as exc:
                last = i == node.retries or not exc.transient or self._cancelled.is_set()
                if self._cancelled.is_set():
                    exc.cause = f"cancelled: {exc.cause}"
                journal.event(log.guid, node.name, key, "failed", attempt,
                              info={"cause": exc.cause, "transient": exc.transient, "stderr": exc.stderr[-2000:]})
                log.end(f"{EVENT}.step", -1, node=node.name, key=key[:16], kind=node.kind, attempt=attempt,
                        msg=exc.cause, transient=int(exc.transient))
                if last:
                    exc.attempts = i + 1
                    if exc.node != node.name:
                        exc.cause = f"{exc.node}: {exc.cause}"
                    raise
                log.write(f"{EVENT}.retry", level="WARNING", node=node.name, attempt=attempt, msg=exc.cause)
                if node.kind in ("stage_in", "stage_out"):
                    staging.tally.add(retries=1)
                time.sleep(min(0.2 * 2 ** i, 10.0))
        raise AssertionError("unreachable")

    @staticmethod
    def _transfer(log: EventLog, node: Node, direction: str, move: Any) -> tuple[str, int]:
        """move(meter, verifying) -> (digest, bytes moved), between a transfer's .start and .end events, with a
        .progress event (bytes so far) every PROGRESS seconds while it moves and a .verify event when it has."""
        meter, stop, t0 = Meter(), threading.Event(), time.monotonic()

        def tick() -> None:
            while not stop.wait(PROGRESS):
                log.write(f"{EVENT}.transfer.progress", node=node.name, bytes=meter.bytes,
                          seconds=round(time.monotonic() - t0, 3))

        ticker = threading.Thread(target=tick, name="transfer-progress", daemon=True)
        ticker.start()
        try:
            with log.span(f"{EVENT}.transfer", node=node.name, url=node.url, direction=direction) as end:
                digest, n = move(meter, lambda: log.write(f"{EVENT}.verify", node=node.name))
                end.update(bytes=n, verified=int(node.verify))
        finally:
            stop.set()
        return digest, n

    def _do(self, node: Node, key: str, attempt: int, journal: Journal, objects: Objects, staging: Staging,
            log: EventLog) -> tuple[dict[str, str], dict[str, bytes]]:
        """Do one attempt: (outputs, the small outputs' bytes to keep inline)."""
        assert self.planner is not None
        if node.kind == "stage_in":
            probe = self.planner.static[node.name]["probe"]
            if "unreachable" in probe and not probe["transient"]:
                raise StepFailed(node.name, probe["unreachable"])
            known = node.sha256 or probe.get("sha256")
            if known and objects.has(known):
                return {"data": known}, {}  # the bytes are already here (another URL, an earlier run)
            part = self.state / "tmp" / f"{key}.part"
            digest, _ = self._transfer(log, node, "in", lambda meter, verifying: staging.fetch(
                node.url or "", part, known, node.verify, declared=bool(node.sha256), meter=meter,
                verifying=verifying))
            objects.ingest(part, digest)
            part.unlink(missing_ok=True)
            return {"data": digest}, {}
        if node.kind == "stage_out":
            w = node.wires[0]
            digest = self.planner.outputs[w.node][w.output]
            self._transfer(log, node, "out", lambda meter, verifying: (digest, staging.deliver(
                objects.path(digest), digest, node.url or "", node.verify, meter, verifying)))
            return {}, {}
        digests = {w.arg: self.planner.outputs[w.node][w.output] for w in node.wires}
        # in-process calls read small inputs from memory; jobs and services need files
        inputs = {a: objects.source(d) if node.placement in ("local", "python") else objects.path(d)
                  for a, d in digests.items()}
        work = self.state / "work"
        executor = self._executor(node.placement)

        natives: list[str] = []

        def note(event: str, native: str | None) -> None:
            journal.event(log.guid, node.name, key, event, attempt, native)
            if native is not None:
                natives.append(native)
                log.write(f"{EVENT}.job.{event}", node=node.name, native=native)

        try:
            files = executor.run(node, key, inputs, work, note)
        finally:
            history = getattr(executor, "events", None)
            if natives and history is not None:  # the job's own state changes, at the times they happened
                for e in history(natives[-1]):
                    log.write(f"{EVENT}.job.state", t=e["at"], node=node.name, native=natives[-1], state=e["state"])
        outputs, blobs = {}, {}
        for name, got in files.items():
            if isinstance(got, bytes):
                outputs[name], blob = objects.put(got)
                if blob is not None:
                    blobs[outputs[name]] = blob
            elif not got.exists():
                raise StepFailed(node.name, f"the call ended without writing its output {name}", transient=True)
            else:
                outputs[name] = objects.ingest(got)
        return outputs, blobs


def run(pipeline: str | os.PathLike[str] | Graph, state: str | os.PathLike[str] | None = None,
        workers: int | None = None, **options: Any) -> RunResult:
    """Run a pipeline file (or a loaded Graph): what is cached stays, what changed runs, as a kill -9 left it."""
    from .load import load_pipeline

    graph = pipeline if isinstance(pipeline, Graph) else load_pipeline(pipeline)
    return Engine(graph, state_dir(graph, state), workers, **options).run()
