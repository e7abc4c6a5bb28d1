"""The interface every executor implements (psij's one-executor-per-backend idea, for kernel calls)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from ..graph import Node

#: note(event, native_id): an executor tells the journal what it is about to do, before it does it.
Note = Callable[[str, "str | None"], None]


def output_files(node: Node, work: Path) -> dict[str, Path]:
    """Where a call writes each kept output: work/out.NAME (arrays as .npy, scalars as JSON)."""
    return {name: work / f"out.{name}" for name in node.outputs}


class Executor(ABC):
    """Runs a compute node's call with its inputs (arg -> a content-store file) and writes its outputs to
    output_files(node, work). Raises StepFailed with transient=True for what a retry may cure (network,
    scheduler, preemption) and transient=False for what it cannot (bad arguments, the kernel's own errors,
    a deterministic non-zero exit). An executor is used from several threads at once."""

    def __init__(self, target: str, **options: object) -> None:
        self.target = target

    @abstractmethod
    def run(self, node: Node, key: str, inputs: dict[str, Path], work: Path, note: Note) -> dict[str, Path]:
        """Make the call; the output files written."""

    def close(self) -> None:
        """Release what the executor holds (job managers, connections)."""
