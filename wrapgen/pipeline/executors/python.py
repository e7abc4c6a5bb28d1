"""Python steps: a small expression over the step's inputs, in this process (the editor's local-code node)."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import StepFailed
from ..graph import Node
from .base import Executor, Note, read_value


class PythonExecutor(Executor):
    """Evaluates python steps' expressions."""

    def run(self, node: Node, key: str, inputs: dict[str, Path | bytes], work: Path,
            note: Note) -> dict[str, Path | bytes]:
        """The expression's value, as .npy bytes for an array, JSON for anything else."""
        import numpy as np

        from ...bind.call import encode
        from ..expr import evaluate

        try:
            values = {a: read_value(d) for a, d in inputs.items()}
        except (ValueError, OSError) as exc:
            raise StepFailed(node.name, f"an input cannot be read: {exc}") from None
        try:
            result = evaluate(node.function or "", {**values, **node.params})
        except Exception as exc:  # noqa: BLE001 - the expression's own error is the step's cause
            raise StepFailed(node.name, f"{type(exc).__name__}: {exc} (in {node.function!r})") from None
        if isinstance(result, np.generic):
            result = result.item()
        if not isinstance(result, np.ndarray):
            try:
                json.dumps(result, allow_nan=True)
            except (TypeError, ValueError):
                raise StepFailed(node.name, f"the expression gave a {type(result).__name__}; a python step gives an "
                                 "array or a JSON value (number, string, list, dict)") from None
        return {"result": encode(result)}
