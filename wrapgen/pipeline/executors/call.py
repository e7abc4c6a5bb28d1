"""Call steps: an operation of a published service known by its WSDL alone (no local spec). A wrapgen service
goes through wrapgen.connect (arrays as NDArray, faults as the kernel's exceptions); any other SOAP service
through zeep, its response kept as JSON."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import StepFailed
from ..graph import Node
from .base import Note, kernel_errors, output_files, read_value
from .service import ServiceExecutor

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


class CallExecutor(ServiceExecutor):
    """Operations of the service at target (its URL; the WSDL at target?wsdl): the service executor's connection,
    any SOAP service's operations."""

    def _connect(self) -> Any:
        from ...wsrf.errors import NotWrapgenService

        try:
            return super()._connect()
        except NotWrapgenService:
            import zeep

            return zeep.Client(self.target.rstrip("/") + "?wsdl")

    def run(self, node: Node, key: str, inputs: dict[str, Path], work: Path, note: Note) -> dict[str, Path]:
        """Read the inputs, call the operation, write the outputs kept (arrays as .npy, the rest as JSON)."""
        from ...bind.call import write_values

        files = output_files(node, key, work)
        op = node.function or ""
        with kernel_errors(node.name):
            kwargs = {a: read_value(p) for a, p in inputs.items()}
            kwargs.update(node.params)
            note("started", self.target)
            values = self._remote(node, lambda proxy: self._call(proxy, op, kwargs, node.name))
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
            return fn.outputs_by_name(**kwargs)
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
