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

    def _proxy(self) -> Any:
        proxy = getattr(self._local, "proxy", None)
        if proxy is None:
            from ...wsrf.client import connect

            proxy = self._local.proxy = connect(self.target, self._timeout, self._cert, self._verify)
        return proxy

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
            try:
                proxy = self._proxy()
            except WrapgenError as exc:  # the service is down or restarting: a later attempt may find it
                raise StepFailed(node.name, str(exc), transient=True) from None
            try:
                function = getattr(proxy, node.function or "")
            except AttributeError:
                raise StepFailed(node.name, f"service {self.target} has no operation {node.function}") from None
            try:
                returned = function(**kwargs)
            except OSError as exc:  # requests' connection errors and timeouts among them
                self._local.proxy = None
                raise StepFailed(node.name, f"service {self.target}: {exc}", transient=True) from None
            write_values(node.function or "", gathered(fn, returned, kwargs), {n: str(p) for n, p in files.items()})
        return files
