"""The planner: one pure object behind `run`, `plan`, `why` and the editor's badges (h11-style: no I/O).

A node's key can be computed once every node it waits for has outputs (their digests are part of it). A key the
journal knows is a cache hit: its outputs are known at once, and its children are decided in turn. A node that
must run makes its children wait; when it ends, the engine says so (`finished`) and the children are decided with
the new digests -- unchanged bytes give unchanged keys, so they stay cached (early cutoff).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .graph import Graph, Node
from .keys import call_record, compute_record, diff, key_of, python_record, stage_in_record, stage_out_record

# A node's status, and what may follow it: the one table of a step's states.
WAITING, RUN, RUNNING, CACHED, DONE, FAILED, BLOCKED = "waiting", "run", "running", "cached", "done", "failed", \
    "blocked"
TRANSITIONS: dict[str, frozenset[str]] = {
    WAITING: frozenset({RUN, CACHED, BLOCKED}),
    RUN: frozenset({RUNNING, BLOCKED}),
    RUNNING: frozenset({DONE, FAILED}),
    CACHED: frozenset(), DONE: frozenset(), FAILED: frozenset(), BLOCKED: frozenset(),
}


@dataclass
class Decision:
    """What the planner says of one node."""

    node: str
    status: str = WAITING
    key: str | None = None
    record: dict[str, Any] | None = None
    reason: list[str] = field(default_factory=list)


class Planner:
    """Decides nodes as their inputs become known. `static` holds per-node facts found by I/O beforehand:
    compute nodes' {"kernel": identity}, call nodes' {"interface": WSDL digest}, stage-ins' {"probe": {...}}.
    `have(node, outputs)` says whether a cached result is still there (its files in the content store; a
    stage-out's file at its destination). Nodes in `force` run even when cached (the editor's "rerun from here").
    `cutoff` collects the nodes found cached after start() -- their inputs were remade with the same bytes."""

    def __init__(self, graph: Graph, known: Mapping[str, dict[str, str]],
                 previous: Mapping[str, tuple[str, dict[str, Any]]], static: Mapping[str, dict[str, Any]],
                 have: Callable[[str, dict[str, str]], bool] = lambda node, outputs: True,
                 force: frozenset[str] = frozenset()) -> None:
        self.graph, self.known, self.previous, self.static, self.have = graph, known, previous, static, have
        self.force = force
        self.cutoff: list[str] = []
        self._started = False
        self.decisions: dict[str, Decision] = {n: Decision(n) for n in graph.nodes}
        self.outputs: dict[str, dict[str, str]] = {}
        self._pending = {n: len(node.upstream) for n, node in graph.nodes.items()}

    # --- the engine's calls --------------------------------------------------------------------------------------
    def start(self) -> list[Decision]:
        """Decide every node that waits for nothing (and whatever their cache hits free); the nodes to run."""
        try:
            return self._settle([n for n, count in self._pending.items() if count == 0])
        finally:
            self._started = True

    def running(self, node: str) -> None:
        """The engine started the node."""
        self._move(node, RUNNING)

    def finished(self, node: str, outputs: dict[str, str]) -> list[Decision]:
        """The node ran and gave outputs (name -> digest); the nodes that can run now."""
        self._move(node, DONE)
        self.outputs[node] = dict(outputs)
        return self._settle(self._freed(node))

    def failed(self, node: str) -> list[str]:
        """The node failed for good; the nodes that now cannot run (its descendants)."""
        self._move(node, FAILED)
        blocked, todo = [], list(self.graph.children[node])
        while todo:
            n = todo.pop()
            d = self.decisions[n]
            if d.status == WAITING:
                self._move(n, BLOCKED)
                d.reason = [f"{node} failed"]
                blocked.append(n)
                todo.extend(self.graph.children[n])
        return blocked

    def counts(self) -> dict[str, int]:
        """How many nodes have each status."""
        return dict(Counter(d.status for d in self.decisions.values()))

    # --- deciding ------------------------------------------------------------------------------------------------
    def _move(self, node: str, status: str) -> None:
        d = self.decisions[node]
        if status not in TRANSITIONS[d.status]:
            raise ValueError(f"{node}: {d.status} -> {status} is not a step transition")
        d.status = status

    def _freed(self, node: str) -> list[str]:
        freed = []
        for child in self.graph.children[node]:
            self._pending[child] -= 1
            if self._pending[child] == 0:
                freed.append(child)
        return freed

    def _settle(self, ready: list[str]) -> list[Decision]:
        runnable, todo = [], deque(ready)
        while todo:
            name = todo.popleft()
            d = self._decide(self.graph.nodes[name])
            if d.status == CACHED:
                if self._started:
                    self.cutoff.append(name)
                todo.extend(self._freed(name))
            elif d.status == RUN:
                runnable.append(d)
        return runnable

    def record(self, node: Node) -> dict[str, Any]:
        """The node's record now (its inputs' outputs must be known)."""
        if node.kind == "stage_in":
            return stage_in_record(node, self.static[node.name]["probe"])
        inputs = {w.arg: self.outputs[w.node][w.output] for w in node.wires}
        if node.kind == "stage_out":
            return stage_out_record(node, inputs["data"])
        if node.kind == "python":
            return python_record(node, inputs)
        if node.kind == "call":
            return call_record(node, self.static[node.name]["interface"], inputs)
        return compute_record(node, self.static[node.name]["kernel"], inputs)

    def _decide(self, node: Node) -> Decision:
        d = self.decisions[node.name]
        d.record = self.record(node)
        d.key = key_of(d.record)
        hit = self.known.get(d.key)
        if hit is not None and node.name not in self.force and self.have(node.name, hit):
            self._move(node.name, CACHED)
            self.outputs[node.name] = hit
            d.reason = []
        else:
            self._move(node.name, RUN)
            prev = self.previous.get(node.name)
            if node.name in self.force:
                d.reason = ["asked to run again"]
            elif hit is not None:
                d.reason = ["its cached outputs are gone from the content store"]
            elif prev is not None and prev[0] == d.key:
                d.reason = ["its last run did not finish"]
            else:
                d.reason = diff(prev[1] if prev else None, d.record)
        return d

