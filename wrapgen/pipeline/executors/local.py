"""In-process calls: no process spawned per call (the kernel runs in a thread of the driver, GIL released),
or in an isolated worker process for a step that says `isolate: true`."""

from __future__ import annotations

import json
from pathlib import Path

from ...errors import UsageError, WrapgenError
from ..errors import StepFailed
from ..graph import Node
from .base import Executor, Note, output_files


class LocalExecutor(Executor):
    """Kernel calls in this process."""

    def run(self, node: Node, key: str, inputs: dict[str, Path], work: Path, note: Note) -> dict[str, Path]:
        """Call the kernel with its inputs read from the content store; write the outputs."""
        from ...bind.call import call_from_files

        files = output_files(node, work)
        note("started", None)
        try:
            call_from_files(str(node.spec), node.function or "", {a: str(p) for a, p in inputs.items()},
                            {k: json.dumps(v) for k, v in node.params.items()},
                            {n: str(p) for n, p in files.items()}, isolate=node.isolate)
        except UsageError as exc:
            raise StepFailed(node.name, f"bad arguments: {exc}") from None
        except OSError as exc:
            raise StepFailed(node.name, f"{type(exc).__name__}: {exc}", transient=True) from None
        except (WrapgenError, ValueError, TypeError, ArithmeticError) as exc:  # the kernel's own refusals
            raise StepFailed(node.name, f"{type(exc).__name__}: {exc}") from None
        return files
