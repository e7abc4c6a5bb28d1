"""In-process calls: no process spawned per call (the kernel runs in a thread of the driver, GIL released),
or in an isolated worker process for a step that says `isolate: true`."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from ...errors import UsageError
from ..cache import INLINE
from ..graph import Node
from .base import Executor, Note, kernel_errors, output_files


class LocalExecutor(Executor):
    """Kernel calls in this process. Each spec's module is loaded once per run (its build was checked then);
    a call costs the kernel, its inputs read and its outputs written -- no process, no import, no build check."""

    def __init__(self, target: str, **options: object) -> None:
        super().__init__(target)
        self._modules: dict[tuple[str, bool], Any] = {}
        self._lock = threading.Lock()

    def _module(self, spec: str, isolate: bool) -> Any:
        from ...bind.loader import load

        with self._lock:
            if (spec, isolate) not in self._modules:
                self._modules[(spec, isolate)] = load(spec, isolate=isolate)
            return self._modules[(spec, isolate)]

    def run(self, node: Node, key: str, inputs: dict[str, Path | bytes], work: Path,
            note: Note) -> dict[str, Path | bytes]:
        """Call the kernel with its inputs (bytes, or content-store files); its outputs' bytes."""
        from ...bind.call import encode, gathered, read_arguments, write_values

        with kernel_errors(node.name):
            _lib, fn, kwargs = read_arguments(str(node.spec), node.function or "",
                                              {a: p if isinstance(p, bytes) else str(p) for a, p in inputs.items()},
                                              {k: json.dumps(v) for k, v in node.params.items()})
            module = self._module(str(node.spec), node.isolate)
            values = gathered(fn, getattr(module, node.function or "")(**kwargs), kwargs)
            missing = [n for n in node.outputs if n not in values]
            if missing:
                raise UsageError(f"{node.function} gives {', '.join(values) or 'nothing'}, not {', '.join(missing)}")
            files = output_files(node, key, work)
            out: dict[str, Path | bytes] = {}
            for n in node.outputs:
                v = values[n]
                if getattr(v, "nbytes", 0) > INLINE:  # a large array: streamed to a file, never copied in memory
                    write_values(node.function or "", {n: v}, {n: str(files[n])})
                    out[n] = files[n]
                else:
                    out[n] = encode(v)
            return out
