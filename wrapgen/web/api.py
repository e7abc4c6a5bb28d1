"""The editor's API, one object per opened pipeline: the palette, the file as a graph and back (checked as `wrapgen
run` checks it, links by their port types), runs started on a thread of the engine, and node states pushed to
subscribers as deltas from the journal and the run's log. HTTP lives in server.py; this module has no sockets."""

from __future__ import annotations

import os
import queue
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from . import document, live
from .errors import EditorError
from .palette import Palette

MAX_BACKLOG = 10_000  # deltas queued for one page before it is dropped (it gets the whole state when it reconnects)
POLL = 0.05  # seconds between looks at the journal and the run's log: well under the 200 ms a state may take


class Editor:
    """One pipeline file, its state directory and its subscribers."""

    def __init__(self, pipeline: str | os.PathLike[str], specs: list[str | os.PathLike[str]] | None = None,
                 state: str | os.PathLike[str] | None = None, workers: int | None = None) -> None:
        self.path = Path(pipeline).resolve()
        self.dir = self.path.parent
        self.palette = Palette([Path(s).resolve() for s in (specs or [self.dir])], self.dir)
        self._state_arg, self.workers = state, workers
        self._lock = threading.RLock()
        self._save_lock = threading.Lock()
        self._subscribers: list[queue.SimpleQueue[dict[str, Any]]] = []
        self._states: dict[str, dict[str, Any]] = {}  # node -> state
        self._steps: dict[str, Any] = {}  # step -> what its canvas node shows (last pushed)
        self._graph: Any = None
        self._fold: live.Fold | None = None
        self._watching: tuple[str, Path, int] | None = None  # (run guid, its log, bytes read)
        self._seen: str | None = None  # the newest run the watcher has accounted for
        self._thread: threading.Thread | None = None
        self._engine: Any = None
        self._message = ""
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="editor-watch", daemon=True)
        for url in self._call_services():
            try:
                self.palette.add_service(url)
            except EditorError as exc:
                self.palette.problems.append({"file": url, "message": str(exc)})
        self.refresh()

    def start(self) -> None:
        """Start watching the journal."""
        self._watcher.start()

    def stop(self) -> None:
        """Stop watching; cancel a run this editor started."""
        self._stop.set()
        if self._engine is not None:
            self._engine.cancel()
        if self._thread is not None:
            self._thread.join(30)
        if self._watcher.is_alive():
            self._watcher.join(5)

    # --- the file ------------------------------------------------------------------------------------------------
    def text(self) -> str:
        """The pipeline file's text ('' before it is first saved)."""
        try:
            return self.path.read_text()
        except FileNotFoundError:
            return ""

    def _outputs_of(self, type_id: str) -> list[str]:
        t = self.palette.types.get(type_id)
        if t is None and type_id.startswith("compute:"):
            t = self.palette.add_spec(type_id.removeprefix("compute:"))
        return [o["name"] for o in t["outputs"]] if t else []

    def _call_services(self) -> list[str]:
        try:
            g = document.to_graph(self.text())
        except EditorError:
            return []
        return list(dict.fromkeys(n["fields"]["call"].rpartition("#")[0] for n in g["nodes"]
                                  if n["kind"] == "call" and isinstance(n["fields"].get("call"), str)))

    def document(self) -> dict[str, Any]:
        """The file as the canvas shows it: {yaml, graph (None if it is no pipeline yet), problems, steps}."""
        text = self.text()
        graph, problems = None, []
        if text.strip():
            try:
                graph = document.to_graph(text, self._outputs_of)
            except EditorError as exc:
                problems = [{"step": None, "message": f"{self.path}: {exc}"}]
            else:
                problems = document.check(text, self.path, self.palette.types, graph)
        with self._lock:
            steps = dict(self._steps)
        return {"path": str(self.path), "yaml": text, "graph": graph, "problems": problems, "steps": steps,
                "running": self.running(), "message": self._message}

    def save(self, graph: dict[str, Any] | None = None, text: str | None = None) -> dict[str, Any]:
        """Write the canvas graph (or a text-view edit) to the file; the document as it is now, its problems
        checked as `wrapgen run` will check them."""
        if (graph is None) == (text is None):
            raise EditorError("save takes a graph or a text")
        with self._save_lock:  # two pages saving at once: one after the other, each answered with its own file
            return self._save(graph, text)

    def _save(self, graph: dict[str, Any] | None, text: str | None) -> dict[str, Any]:
        if graph is not None:
            if not isinstance(graph, dict):
                raise EditorError("the graph must be a JSON object with nodes and links")
            text = document.to_yaml(graph, self.palette.types)
        else:
            document.to_graph(text or "", self._outputs_of)  # refuse what is not a pipeline at all
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(text or "")
        os.replace(tmp, self.path)  # a reader sees the old file or the new one, never half
        self.refresh()
        return self.document()

    # --- states ------------------------------------------------------------------------------------------------
    def running(self) -> bool:
        """Whether a run this editor started is going on."""
        return self._thread is not None and self._thread.is_alive()

    def _state_dir(self, graph: Any) -> Path:
        from ..pipeline.engine import state_dir

        return state_dir(graph, self._state_arg)

    def refresh(self) -> None:
        """Recompute every node's state from the file, the planner and the journal; push what changed."""
        from ..pipeline.engine import Engine
        from ..pipeline.errors import PipelineError
        from ..pipeline.load import load_pipeline

        try:
            graph = load_pipeline(self.path)
        except (PipelineError, OSError):
            with self._lock:
                self._graph, self._states = None, {}
                self._push_steps({})
            return
        state = self._state_dir(graph)
        decisions = None
        try:
            decisions = Engine(graph, state, self.workers).plan().decisions
        except Exception as exc:  # noqa: BLE001 - a plan that cannot be made (a server down) leaves nodes stale
            self._message = f"cannot plan: {type(exc).__name__}: {exc}"
        last, attempts, cutoff, unfinished, transfers = self._last_run(state)
        states = live.idle(graph, decisions, last, attempts, cutoff, unfinished)
        for node, t in transfers.items():  # what the last run moved stays on its nodes
            if states.get(node, {}).get("state") == live.DONE_RAN:
                states[node]["transfer"] = t
        with self._lock:
            self._graph, self._states = graph, states
            self._push_steps(live.by_step(graph, states))

    @staticmethod
    def _last_run(state: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]], set[str], set[str],
                                        dict[str, dict[str, Any]]]:
        """The last run, its attempts, the nodes it found cut off, those it left unfinished (killed mid-step) and
        the transfers it made (bytes, seconds, rate by node)."""
        from .. import netlogger
        from ..pipeline.journal import Journal

        if not (state / "journal.db").exists():
            return None, [], set(), set(), {}
        journal = Journal(state / "journal.db")
        try:
            runs = journal.runs()
            last = runs[-1] if runs else None
            attempts = journal.attempts(run=last["guid"]) if last else []
        finally:
            journal.close()
        cutoff: set[str] = set()
        started: set[str] = set()
        transfers: dict[str, dict[str, Any]] = {}
        log = state / "runs" / f"{last['guid']}.log" if last else None
        if log is not None and log.exists():
            for e in netlogger.read(log):
                ev = e.get("event", "")
                if ev == f"{live.EVENT}.cutoff":
                    cutoff.add(e["node"])
                elif ev == f"{live.EVENT}.step.start":
                    started.add(e.get("node", ""))
                elif ev == f"{live.EVENT}.step.end":
                    started.discard(e.get("node", ""))
                elif ev == f"{live.EVENT}.transfer.end" and e.get("status") == "0":
                    n, secs = int(e.get("bytes", "0") or 0), float(e.get("seconds", "0") or 0)
                    transfers[e.get("node", "")] = {"bytes": n, "seconds": secs, "rate": n / secs if secs > 0 else 0.0}
        unfinished = started if last is not None and last["ended"] is None else set()
        return last, attempts, cutoff, unfinished, transfers

    def steps(self) -> dict[str, Any]:
        """What every step's node shows now."""
        with self._lock:
            return dict(self._steps)

    def subscribe(self) -> queue.SimpleQueue[dict[str, Any]]:
        """A queue of deltas ({"steps": {step: shown}}, {"message": text}); the first is the whole state."""
        q: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        with self._lock:
            q.put({"steps": dict(self._steps), "running": self.running(), "full": True})
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: queue.SimpleQueue[dict[str, Any]]) -> None:
        """Stop sending to q."""
        with self._lock:
            if q in self._subscribers:
                self._subscribers.remove(q)

    def _push(self, delta: dict[str, Any]) -> None:
        delta["t"] = time.time()
        for q in list(self._subscribers):
            if q.qsize() >= MAX_BACKLOG:  # a page that stopped reading: its stream ends, a reconnect starts afresh
                self.unsubscribe(q)
                q.put({"overflow": True})
            else:
                q.put(delta)

    def _push_steps(self, shown: dict[str, Any], partial: bool = False) -> None:
        """Send the steps whose display changed (all of them when not partial: steps gone are sent as None)."""
        changed = {s: v for s, v in shown.items() if self._steps.get(s) != v}
        if not partial:
            changed.update({s: None for s in self._steps if s not in shown})
            self._steps = dict(shown)
        else:
            self._steps.update(shown)
        if changed:
            self._push({"steps": changed, "running": self.running()})

    # --- watching the journal --------------------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stop.wait(POLL):
            try:
                self._look()
            except Exception as exc:  # noqa: BLE001 - the watcher must outlive a bad moment (a file mid-rename)
                self._message = f"watching the journal: {type(exc).__name__}: {exc}"

    def _newest(self, state: Path) -> tuple[str, float | None, int | None] | None:
        db = state / "journal.db"
        if not db.exists():
            return None
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT guid, ended, pid FROM runs ORDER BY started DESC LIMIT 1").fetchone()
        except sqlite3.OperationalError:
            return None
        finally:
            con.close()

    def _alive(self, pid: int | None) -> bool:
        if pid == os.getpid():
            return self.running()
        try:
            os.kill(pid or 0, 0) if pid else None
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return bool(pid)

    def _look(self) -> None:
        with self._lock:
            graph = self._graph
        if graph is None:
            return
        state = self._state_dir(graph)
        newest = self._newest(state)
        if newest is None:
            return
        guid, ended, pid = newest
        if self._seen is None:
            self._seen = guid  # what the journal held when the editor opened: refresh() has shown it
        if self._watching is None or self._watching[0] != guid:
            if ended is not None or not self._alive(pid):
                if guid != self._seen:  # a run too quick to watch, or one another process made: show its end
                    self._seen = guid
                    self.refresh()
                return
            with self._lock:
                self._fold = live.Fold({n: dict(s) for n, s in self._states.items()},
                                       {n: node.placement for n, node in graph.nodes.items()})
            self._watching, self._seen = (guid, state / "runs" / f"{guid}.log", 0), guid
        guid, log, offset = self._watching
        changed: set[str] = set()
        try:
            with open(log, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            data = b""
        if data:
            from .. import netlogger

            end = data.rfind(b"\n") + 1  # a line being written is read next time
            for line in data[:end].decode(errors="replace").splitlines():
                if line.startswith("ts="):
                    assert self._fold is not None
                    changed |= self._fold.apply(netlogger.parse_line(line))
            self._watching = (guid, log, offset + end)
        fold = self._fold
        if fold is not None and changed:
            with self._lock:
                self._states = fold.states
                steps = {graph.nodes[n].step for n in changed if n in graph.nodes}
                self._push_steps(live.by_step(graph, fold.states, steps), partial=True)
        if fold is not None and (fold.ended or (ended is None and not self._alive(pid))):
            if self.running():
                return  # the engine's thread has still to close the run
            self._fold = None
            self.refresh()

    # --- runs --------------------------------------------------------------------------------------------------
    def run(self, rerun: str | None = None, failed_of: str | None = None) -> dict[str, Any]:
        """Start a run on a thread: every stale node; rerun=STEP runs that step and everything after it again;
        failed_of=STEP runs that sweep step's failed points (and what depends on them) only."""
        from ..pipeline.engine import Engine
        from ..pipeline.errors import PipelineError
        from ..pipeline.graph import Graph
        from ..pipeline.load import load_pipeline

        with self._lock:
            if self.running():
                raise EditorError("a run is in progress; wait for it or cancel it")
            problems = document.check(self.text(), self.path, self.palette.types)
            if problems:
                raise EditorError("the pipeline does not check:\n" + "\n".join(p["message"] for p in problems))
            try:
                graph = load_pipeline(self.path)
            except PipelineError as exc:
                raise EditorError(str(exc)) from None
            force: set[str] = set()
            if rerun is not None or failed_of is not None:
                step = rerun if rerun is not None else failed_of
                roots = [n for n, node in graph.nodes.items() if node.step == step]
                if not roots:
                    raise EditorError(f"no step {step!r} in {self.path.name}")
                if failed_of is not None:
                    roots = [n for n in roots if self._states.get(n, {}).get("state") == live.FAILED]
                    if not roots:
                        raise EditorError(f"step {step} has no failed point")
                force = _descendants(graph, roots)
                keep = force | _ancestors(graph, list(force))
                graph = Graph(graph.name, {n: node for n, node in graph.nodes.items() if n in keep},
                              {n: [c for c in graph.children[n] if c in keep] for n in graph.nodes if n in keep},
                              graph.source)
                if failed_of is not None:
                    force = set()  # failed points are not cached: they run; the rest of the step stays as it is
            self._engine = Engine(graph, self._state_dir(graph), self.workers, force=frozenset(force))
            self._message = ""
            self._thread = threading.Thread(target=self._run, args=(self._engine,), name="editor-run", daemon=True)
            self._thread.start()
        self._push({"running": True})
        return {"started": True, "nodes": len(graph.nodes)}

    def _run(self, engine: Any) -> None:
        try:
            result = engine.run()
            counts = Counter(r.status for r in result.nodes.values())
            self._message = f"run {result.guid[:8]}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        except Exception as exc:  # noqa: BLE001 - shown on the page; the journal keeps what was done
            self._message = f"run failed: {type(exc).__name__}: {exc}"
        finally:
            self._engine = None
        self.refresh()  # the final states first: a page that sees "not running" sees them too
        self._push({"message": self._message, "running": False})

    def cancel(self) -> dict[str, Any]:
        """Cancel the run this editor started (nothing new starts; jobs are cancelled; the next run resumes)."""
        engine = self._engine
        if engine is None:
            raise EditorError("no run is in progress")
        engine.cancel()
        return {"cancelling": True}

    def report(self) -> bytes:
        """The last run's report as PNG bytes."""
        from ..pipeline.report import render

        graph = self._graph
        if graph is None:
            raise EditorError("the pipeline does not check; it has no runs to report")
        state = self._state_dir(graph)
        last = self._last_run(state)[0]
        if last is None:
            raise EditorError(f"{self.path.name} has not run yet")
        png = state / "report.png"
        render(state / "runs" / f"{last['guid']}.log", png)
        return png.read_bytes()


def _descendants(graph: Any, roots: list[str]) -> set[str]:
    seen, todo = set(roots), list(roots)
    while todo:
        for c in graph.children[todo.pop()]:
            if c not in seen:
                seen.add(c)
                todo.append(c)
    return seen


def _ancestors(graph: Any, roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        for u in graph.nodes[todo.pop()].upstream:
            if u not in seen:
                seen.add(u)
                todo.append(u)
    return seen
