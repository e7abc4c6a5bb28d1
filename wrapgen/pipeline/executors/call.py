"""Call steps: an operation of a published service known by its WSDL alone (no local spec). A wrapgen service
goes through wrapgen.connect (arrays as NDArray, faults as the kernel's exceptions); any other SOAP service
through zeep, its response kept as JSON."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from ...errors import WrapgenError
from ..errors import StepFailed
from ..graph import Node
from .base import Executor, Note, kernel_errors, output_files

#: A WSDL larger than this is refused: the editor and the planner fetch it without asking.
MAX_WSDL = 8 << 20


def fetch_wsdl(url: str, timeout: float = 30.0) -> bytes:
    """The WSDL of the service at url (url?wsdl); StepFailed saying why it cannot be had."""
    import requests

    where = url if url.endswith("?wsdl") else url.rstrip("/") + "?wsdl"
    try:
        with requests.get(where, timeout=timeout, stream=True) as r:
            if r.status_code != 200:
                raise StepFailed("", f"GET {where}: HTTP {r.status_code}", transient=r.status_code >= 500)
            data = r.raw.read(MAX_WSDL + 1, decode_content=True)
    except requests.RequestException as exc:
        raise StepFailed("", f"GET {where}: {exc}", transient=True) from None
    if len(data) > MAX_WSDL:
        raise StepFailed("", f"GET {where}: the WSDL is larger than {MAX_WSDL >> 20} MiB")
    return data


def interface_digest(url: str) -> str:
    """sha256 of the service's WSDL: what a call step's key holds of the service."""
    return hashlib.sha256(fetch_wsdl(url)).hexdigest()


def read_input(path: Path) -> Any:
    """An input file as a value: .npy bytes as an array, anything else as JSON."""
    import numpy as np

    with open(path, "rb") as f:
        if f.read(6) == b"\x93NUMPY":
            f.seek(0)
            return np.load(f, allow_pickle=False)
    return json.loads(path.read_bytes())


class CallExecutor(Executor):
    """Operations of the service at target (its URL; the WSDL at target?wsdl)."""

    def __init__(self, target: str, cert: Any = None, verify: Any = None, timeout: float = 3600.0,
                 **options: Any) -> None:
        super().__init__(target)
        self._cert, self._verify, self._timeout = cert, verify, timeout
        self._local = threading.local()  # zeep clients are not shared across threads

    def _proxy(self) -> Any:
        proxy = getattr(self._local, "proxy", None)
        if proxy is None:
            from ...wsrf.client import connect
            from ...wsrf.errors import WSRFError

            try:
                proxy = connect(self.target, self._timeout, self._cert, self._verify)
            except WSRFError as exc:
                if "does not look like a wrapgen service" not in str(exc):
                    raise
                import zeep

                proxy = zeep.Client(self.target.rstrip("/") + "?wsdl")
            self._local.proxy = proxy
        return proxy

    def run(self, node: Node, key: str, inputs: dict[str, Path], work: Path, note: Note) -> dict[str, Path]:
        """Read the inputs, call the operation, write the outputs kept (arrays as .npy, the rest as JSON)."""
        from ...bind.call import write_values

        files = output_files(node, key, work)
        op = node.function or ""
        with kernel_errors(node.name):
            kwargs = {a: read_input(Path(p)) for a, p in inputs.items()}
            kwargs.update(node.params)
            note("started", self.target)
            try:
                proxy = self._proxy()
            except WrapgenError as exc:  # the service is down or restarting: a later attempt may find it
                raise StepFailed(node.name, str(exc), transient=True) from None
            try:
                values = self._call(proxy, op, kwargs, node.name)
            except OSError as exc:  # requests' connection errors and timeouts among them
                self._local.proxy = None
                raise StepFailed(node.name, f"service {self.target}: {exc}", transient=True) from None
            missing = [n for n in node.outputs if n not in values]
            if missing:
                raise StepFailed(node.name, f"{self.target}#{op} gives {', '.join(values) or 'nothing'}, not "
                                 f"{', '.join(missing)}")
            write_values(op, {n: values[n] for n in node.outputs}, {n: str(p) for n, p in files.items()})
        return files

    def _call(self, proxy: Any, op: str, kwargs: dict[str, Any], name: str) -> dict[str, Any]:
        """Every output of the operation by name."""
        functions = getattr(proxy, "_functions", None)
        if functions is not None:  # a wrapgen service: outputs by name, arrays decoded
            fn = functions.get(op)
            if fn is None:
                raise StepFailed(name, f"service {self.target} has no operation {op}; it has {', '.join(functions)}")
            given = fn._bind_args((), kwargs)
            response = fn._r.call(fn._r.client.service, op, **{k: fn._r.encode(v) for k, v in given.items()})
            return {n: fn._r.decode(n, raw) for n, raw in zip(fn.outputs, fn.output_values(response))}
        from zeep.helpers import serialize_object

        try:
            operation = proxy.service[op]
        except (AttributeError, KeyError):
            raise StepFailed(name, f"service {self.target} has no operation {op}") from None
        result = serialize_object(operation(**kwargs), dict)
        if isinstance(result, dict):
            return {k: _jsonable(v) for k, v in result.items()}
        return {"result": _jsonable(result)}


def _jsonable(value: Any) -> Any:
    """A zeep value as plain JSON data (decimals and dates as text)."""
    return json.loads(json.dumps(value, default=str))
