"""Operation parameters and results <-> the children of a request/response element."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from .codec import Splicer, decode_value, encode_value
from .errors import ClientFault
from .model import Operation


def _describe(arg: Any) -> str:
    return f"{arg.dtype} array" if arg.is_array else arg.dtype


def decode_params(parent: etree._Element, ns: str, op: Operation, require: bool,
                  inner: str | None = None) -> dict[str, Any]:
    """Arguments from the children of parent; unknown, repeated or (if require) missing ones are refused.
    inner: the namespace of NDArray and Complex fields when it is not ns."""
    inputs = {n: (a, req) for n, a, req in op.inputs}
    values: dict[str, Any] = {}
    for child in parent:
        if not isinstance(child.tag, str):
            continue
        local = child.tag.split("}")[-1]
        if child.tag != f"{{{ns}}}{local}" or local not in inputs:
            raise ClientFault(f"{op.name}: unexpected element <{child.tag}>; the arguments are "
                              f"{', '.join(inputs) or 'none'} in {ns}")
        if local in values:
            raise ClientFault(f"{op.name}: argument {local!r} is given twice")
        values[local] = decode_value(child, inner or ns, local, inputs[local][0])
    if require:
        missing = [n for n, (a, req) in inputs.items() if req and n not in values]
        if missing:
            raise ClientFault(f"{op.name}: missing argument{'s' if len(missing) > 1 else ''} "
                              + ", ".join(f"{n!r} ({_describe(inputs[n][0])})" for n in missing))
    return values


def missing_inputs(op: Operation, values: dict[str, Any]) -> list[str]:
    """Required inputs that values lacks."""
    return [n for n, _, req in op.inputs if req and n not in values]


def encode_params(parent: etree._Element, ns: str, op: Operation, values: dict[str, Any],
                  splicer: Splicer | None = None) -> None:
    """Append the given arguments in signature order."""
    for n, arg, _ in op.inputs:
        if n in values:
            encode_value(parent, ns, n, arg, values[n], None, splicer)


def encode_outputs(parent: etree._Element, ns: str, op: Operation, values: dict[str, Any],
                   offload: Callable[[Any], str | None] | None, splicer: Splicer | None = None,
                   inner: str | None = None) -> None:
    """Append every output; large arrays become download URLs through offload."""
    for n, arg in op.outputs:
        encode_value(parent, ns, n, arg, values[n], offload, splicer, inner)
