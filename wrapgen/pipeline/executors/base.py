"""The interface every executor implements (psij's one-executor-per-backend idea, for kernel calls)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...errors import UsageError, WrapgenError
from ..errors import StepFailed
from ..graph import Node

#: note(event, native_id): an executor tells the journal what it is about to do, before it does it.
Note = Callable[[str, "str | None"], None]


def read_value(data: Path | bytes) -> Any:
    """An input (a content-store file, or its bytes) as a value: .npy as an array (never a pickle), else JSON --
    for steps with no spec to say which (call and python steps)."""
    import io
    import json

    import numpy as np

    raw = data if isinstance(data, bytes) else Path(data).read_bytes()
    if raw[:6] == b"\x93NUMPY":
        return np.load(io.BytesIO(raw), allow_pickle=False)
    return json.loads(raw)


def output_files(node: Node, key: str, work: Path) -> dict[str, Path]:
    """Where a call writes each kept output: work/KEY.NAME (arrays as .npy, scalars as JSON). Named by the step
    key, so a re-attached job's outputs are found where its first driver asked for them."""
    return {name: work / f"{key}.{name}" for name in node.outputs}


@contextmanager
def kernel_errors(node: str) -> Iterator[None]:
    """A call's errors as StepFailed: bad arguments and the kernel's own refusals are permanent (the same call
    would fail again), an OSError is transient."""
    try:
        yield
    except StepFailed:
        raise
    except UsageError as exc:
        raise StepFailed(node, f"bad arguments: {exc}") from None
    except OSError as exc:
        raise StepFailed(node, f"{type(exc).__name__}: {exc}", transient=True) from None
    except (WrapgenError, ValueError, TypeError, ArithmeticError) as exc:  # the kernel's own refusals
        raise StepFailed(node, f"{type(exc).__name__}: {exc}") from None


class Executor(ABC):
    """Runs a compute node's call with its inputs (arg -> a content-store file, or the bytes of a small one for
    in-process calls) and gives its outputs: files written to output_files(node, key, work), or their bytes. Raises StepFailed with transient=True for what a retry may cure (network,
    scheduler, preemption) and transient=False for what it cannot (bad arguments, the kernel's own errors,
    a deterministic non-zero exit). An executor is used from several threads at once."""

    def __init__(self, target: str, **options: object) -> None:
        self.target = target

    @abstractmethod
    def run(self, node: Node, key: str, inputs: dict[str, Path | bytes], work: Path,
            note: Note) -> dict[str, Path | bytes]:
        """Make the call; each output as the file written or its bytes (an in-process call need not write)."""

    def cancel(self) -> None:
        """Stop what the executor is running, from another thread (a run being cancelled): the calls in progress
        end with StepFailed. An in-process call cannot be stopped and runs to its end."""

    def close(self) -> None:
        """Release what the executor holds (job managers, connections)."""
