"""Compute steps on a published WS-RF service (`wrapgen serve`): the same call through wrapgen.connect, its
arrays as NDArray, its faults as the kernel's own exception classes."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ...errors import WrapgenError
from ..errors import StepFailed
from ..graph import Node
from .base import Executor, Note, kernel_errors, output_files


class ServiceExecutor(Executor):
    """Kernel calls on the service at target (http(s)://HOST:PORT/LIBRARY)."""

    def __init__(self, target: str, cert: Any = None, verify: Any = None, timeout: float = 3600.0,
                 **options: Any) -> None:
        super().__init__(target)
        self._cert, self._verify, self._timeout = cert, verify, timeout
        self._local = threading.local()  # a proxy per thread (zeep sessions are not shared across threads)

    def _connect(self) -> Any:
        """A new proxy for this thread."""
        from ...wsrf.client import connect

        return connect(self.target, self._timeout, self._cert, self._verify)

    def _remote(self, node: Node, call: Any) -> Any:
        """call(proxy) with this thread's proxy; a service that is down, restarting or unreachable is a transient
        StepFailed (a later attempt may find it), and its proxy is made again."""
        proxy = getattr(self._local, "proxy", None)
        if proxy is None:
            try:
                proxy = self._local.proxy = self._connect()
            except WrapgenError as exc:
                raise StepFailed(node.name, str(exc), transient=True) from None
        try:
            return call(proxy)
        except OSError as exc:  # requests' connection errors and timeouts among them
            self._local.proxy = None
            raise StepFailed(node.name, f"service {self.target}: {exc}", transient=True) from None

    def run(self, node: Node, key: str, inputs: dict[str, Path], work: Path, note: Note) -> dict[str, Path]:
        """Read the inputs, call the service, write the outputs."""
        import json

        from ...bind.call import gathered, read_arguments, write_values

        files = output_files(node, key, work)
        with kernel_errors(node.name):
            _lib, fn, kwargs = read_arguments(str(node.spec), node.function or "",
                                              {a: str(p) for a, p in inputs.items()},
                                              {k: json.dumps(v) for k, v in node.params.items()})
            note("started", self.target)

            def call(proxy: Any) -> Any:
                try:
                    function = getattr(proxy, node.function or "")
                except AttributeError:
                    raise StepFailed(node.name, f"service {self.target} has no operation {node.function}") from None
                return function(**kwargs)

            returned = self._remote(node, call)
            write_values(node.function or "", gathered(fn, returned, kwargs), {n: str(p) for n, p in files.items()})
        return files
