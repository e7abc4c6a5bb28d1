"""What a run gives back: every node's outcome, the staging counts, where its log is."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import PipelineError
from .plan import CACHED, DONE, FAILED

NOT_RUN = "not run"  # decided to run, or waiting, when the run was cancelled


@dataclass
class NodeResult:
    """How one node ended in a run."""

    node: str
    step: str
    status: str  # cached, done, failed, blocked
    key: str | None = None
    point: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    cause: str = ""
    attempts: int = 0
    seconds: float = 0.0
    placement: str = "local"


@dataclass
class RunResult:
    """A run's outcome: every node's, the staging counts, where the log is."""

    guid: str
    pipeline: str
    state: Path
    nodes: dict[str, NodeResult]
    staging: dict[str, Any]
    seconds: float
    log: Path
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        """Whether every node is done or cached."""
        return all(r.status in (CACHED, DONE) for r in self.nodes.values())

    @property
    def ran(self) -> list[str]:
        """The nodes that ran in this run."""
        return [n for n, r in self.nodes.items() if r.status in (DONE, FAILED)]

    def counts(self) -> dict[str, int]:
        """Nodes per status."""
        return dict(Counter(r.status for r in self.nodes.values()))

    def output(self, node: str, name: str | None = None) -> Path:
        """Where a node's output is in the content store (its only output if name is None)."""
        from .cache import Objects
        from .journal import Journal

        outs = self.nodes[node].outputs
        if name is None:
            if len(outs) != 1:
                raise PipelineError(f"{node} gives {', '.join(outs) or 'nothing'}; name one")
            name = next(iter(outs))
        journal = Journal(self.state / "journal.db")
        try:
            return Objects(self.state / "objects", journal).path(outs[name])
        finally:
            journal.close()

    def table(self, step: str | None = None) -> list[dict[str, Any]]:
        """The results table: one row per node (of step, if given) with its parameters, status and output digests."""
        rows = []
        for r in self.nodes.values():
            if step is None or r.step == step:
                rows.append({"node": r.node, **r.point, "status": r.status,
                             **{k: v[:12] for k, v in r.outputs.items()}, "cause": r.cause})
        return rows
