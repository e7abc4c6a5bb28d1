"""Port types and the link check (sans-IO). A type is `DTYPE` (a scalar), `DTYPE[d0,d1,...]` (an array, its
dimensions as the spec's shape expressions), `DTYPE[...]` (an array of any rank), or `*` (a file of unknown
content: a stage-in's data, a stage-out's input). DTYPE `any` takes every dtype. static/ports.js is the same rule
for the canvas; tests hold the two to one table."""

from __future__ import annotations

import re
from typing import Any

ANY = "*"
_TYPE = re.compile(r"^(?P<dtype>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<dims>[^\[\]]*)\])?$")

#: XML Schema simple types as dtypes (what a WSDL's scalar parts become).
XSD_DTYPES = {"double": "float64", "float": "float32", "int": "int32", "long": "int64", "boolean": "bool",
              "string": "string", "integer": "int64", "short": "int16", "decimal": "float64",
              "nonNegativeInteger": "int64", "positiveInteger": "int64", "unsignedInt": "uint32",
              "anyURI": "string", "dateTime": "string", "date": "string"}


def parse(text: str) -> tuple[str, list[str] | None]:
    """(dtype, dims or None for a scalar); ValueError for a text that is not a port type."""
    m = _TYPE.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a port type (DTYPE, DTYPE[dims] or *)")
    dims = m.group("dims")
    return m.group("dtype"), None if dims is None else [d.strip() for d in dims.split(",") if d.strip()]


def of_arg(arg: Any) -> str:
    """A spec argument's port type: its dtype and its shape expressions."""
    if arg.shape is None:
        return str(arg.dtype)
    return f"{arg.dtype}[{','.join(str(d) for d in arg.shape)}]"


def mismatch(out_type: str, in_type: str) -> str | None:
    """Why an output of out_type cannot feed an input of in_type ("float64[n] → int32: dtype differs"), None if
    it can."""
    if ANY in (out_type, in_type):
        return None
    (od, odims), (idd, idims) = parse(out_type), parse(in_type)
    why = None
    if od != idd and "any" not in (od, idd):
        why = "dtype differs"
    elif (odims is None) != (idims is None):
        why = "an array cannot feed a scalar" if idims is None else "a scalar cannot feed an array"
    elif odims is not None and idims is not None and "..." not in odims + idims and len(odims) != len(idims):
        why = f"rank differs ({len(odims)} vs {len(idims)})"
    return None if why is None else f"{out_type} → {in_type}: {why}"
