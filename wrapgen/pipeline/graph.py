"""The pipeline as concrete nodes: sweeps expanded, wires resolved to (node, output), in topological order.
Pure data; pipeline.load builds it from a validated file."""

from __future__ import annotations

import gc
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Wire:
    """An input fed by another node's output."""

    arg: str
    node: str
    output: str


@dataclass
class Node:
    """One unit of work: a step, or one point of a swept step."""

    name: str  # "heat", or "heat[alpha=0.1,nsteps=10]" for a point of a sweep
    step: str
    kind: str  # stage_in, compute, stage_out
    point: dict[str, Any] = field(default_factory=dict)
    url: str | None = None  # stage_in's source, stage_out's destination
    sha256: str | None = None  # stage_in: the expected digest
    spec: Path | None = None
    function: str | None = None
    library: Any = None  # the spec's Library model (compute)
    params: dict[str, Any] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    wires: tuple[Wire, ...] = ()
    after: tuple[str, ...] = ()
    placement: str = "local"  # local, job:URL, service:URL
    isolate: bool = False
    retries: int = 2
    verify: bool = True

    @property
    def upstream(self) -> tuple[str, ...]:
        """Every node that must end before this one."""
        return tuple(dict.fromkeys([w.node for w in self.wires] + list(self.after)))


@dataclass
class Graph:
    """Nodes in topological order, and who waits for whom."""

    name: str
    nodes: dict[str, Node]
    children: dict[str, list[str]]
    source: Path | None = None

    def of_step(self, step: str) -> list[Node]:
        """The nodes a step became (one, or one per sweep point)."""
        return [n for n in self.nodes.values() if n.step == step]


def points(product: dict[str, list[Any]], zipped: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The parameter points of a sweep: product's combinations, each with each row of zip."""
    rows: list[dict[str, Any]] = [{}]
    if zipped:
        rows = [dict(zip(zipped, values)) for values in zip(*zipped.values())]
    combos = [dict(zip(product, values)) for values in itertools.product(*product.values())] if product else [{}]
    return [{**c, **r} for c in combos for r in rows]


def label(step: str, point: dict[str, Any]) -> str:
    """A node's name: the step, and its point's values."""
    if not point:
        return step
    return f"{step}[{','.join(f'{k}={json.dumps(v)}' for k, v in point.items())}]"


def find_cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """A cycle in step -> [steps it waits for], as the steps around it (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the path, 2 done
    for start in edges:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                state[node] = 1
                path.append(node)
            deps = edges.get(node, [])
            if i < len(deps):
                stack.append((node, i + 1))
                dep = deps[i]
                if state.get(dep) == 1:
                    return path[path.index(dep):] + [dep]
                if not state.get(dep):
                    stack.append((dep, 0))
            else:
                state[node] = 2
                path.pop()
    return None


def toposort(edges: dict[str, list[str]]) -> list[str]:
    """Steps so that each comes after those it waits for (edges must have no cycle), in file order otherwise."""
    done: set[str] = set()
    out: list[str] = []
    for start in edges:
        stack = [(start, iter(edges[start]))]
        if start in done:
            continue
        while stack:
            node, it = stack[-1]
            dep = next((d for d in it if d not in done), None)
            if dep is None:
                stack.pop()
                if node not in done:
                    done.add(node)
                    out.append(node)
            elif all(dep != s[0] for s in stack):
                stack.append((dep, iter(edges.get(dep, []))))
    return out


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: building a 10 000-node graph allocates ~10^6 objects, and the
    collector traversing them again and again took more than half of deciding that nothing needs to run (1.9 s
    -> 0.9 s). What it would have found is collected when the block ends."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
