"""Spec values <-> XML: scalars as XML Schema types, arrays as NDArray (dtype, shape, order, base64 data).

Array data always travels little-endian in the order the NDArray names, so a C- or F-ordered array is
sent without a transposing copy. A payload whose byte count does not match dtype x shape is refused,
never truncated or padded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pybase64
from lxml import etree

from ..bind.runtime import as_buffer
from ..spec.model import INTEGER_DTYPES, NUMERIC_DTYPES, Arg, fits_integer
from .errors import ClientFault

DTYPES = NUMERIC_DTYPES
XSD_TYPES = {"int8": "xs:byte", "uint8": "xs:unsignedByte", "int16": "xs:short", "uint16": "xs:unsignedShort",
             "int32": "xs:int", "uint32": "xs:unsignedInt", "int64": "xs:long", "uint64": "xs:unsignedLong",
             "float32": "xs:float", "float64": "xs:double", "bool": "xs:boolean", "string": "xs:string"}
MAX_RANK = 32


def _le(dtype: str) -> np.dtype:
    return np.dtype(dtype).newbyteorder("<") if dtype != "bool" else np.dtype(bool)


MAX_EXTENT = 1 << 40  # elements along one axis, and bytes of a whole array


def array_from_parts(name: str, dtype: str | None, shape: list[Any] | None, order: str | None,
                     data: bytes | None, expected_dtype: str | None = None) -> np.ndarray:
    """Rebuild an array from NDArray fields, checking every field; errors name the argument."""
    if dtype not in DTYPES:
        raise ClientFault(f"argument {name!r}: NDArray dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if expected_dtype is not None and dtype != expected_dtype:
        raise ClientFault(f"argument {name!r}: expected an NDArray of dtype {expected_dtype}, got {dtype} "
                          f"(no silent conversion)")
    dims: list[int] = []
    for d in shape or []:
        try:
            v = int(str(d).strip())
        except ValueError:
            raise ClientFault(f"argument {name!r}: NDArray shape entry {d!r} is not an integer") from None
        if v < 0:
            raise ClientFault(f"argument {name!r}: NDArray shape entry {v} is negative")
        if v > MAX_EXTENT:
            raise ClientFault(f"argument {name!r}: NDArray shape entry {v} is over {MAX_EXTENT}")
        dims.append(v)
    if len(dims) > MAX_RANK:
        raise ClientFault(f"argument {name!r}: NDArray rank {len(dims)} is over {MAX_RANK}")
    order = (order or "C").strip()
    if order not in ("C", "F"):
        raise ClientFault(f"argument {name!r}: NDArray order must be C or F, got {order!r}")
    dt = _le(dtype)
    if math.prod(d for d in dims if d) * dt.itemsize > MAX_EXTENT:  # even with a 0 extent numpy refuses it
        raise ClientFault(f"argument {name!r}: NDArray shape ({', '.join(map(str, dims))}) is too large to exist")
    data = data or b""
    expected = math.prod(dims) * dt.itemsize
    if len(data) != expected:
        raise ClientFault(f"argument {name!r}: NDArray data has {len(data)} bytes, expected {expected} for shape "
                          f"({', '.join(map(str, dims))}) {dtype}; nothing was truncated or padded")
    # A private writable buffer: inout arrays are updated in place by the kernel.
    arr = np.ndarray(tuple(dims), dtype=dt, buffer=bytearray(data), order=order)
    return arr if np.little_endian else arr.astype(arr.dtype.newbyteorder("="))


def array_parts(arr: np.ndarray) -> tuple[str, list[int], str, bytes]:
    """(dtype, shape, order, little-endian bytes) of an array, without a transposing copy."""
    arr = np.asarray(as_buffer(arr))  # bytes and bytearrays travel as uint8 arrays
    dtype = arr.dtype.name if arr.dtype != np.bool_ else "bool"
    if dtype not in DTYPES:
        raise ClientFault(f"cannot send an array of dtype {arr.dtype}")
    order = "F" if arr.ndim > 1 and arr.flags.f_contiguous and not arr.flags.c_contiguous else "C"
    le = arr.astype(_le(dtype), copy=False)
    return dtype, list(arr.shape), order, le.tobytes(order=order)


_WHITESPACE = re.compile(r"[ \t\r\n]+")
SPLICE_MIN = 64 * 1024  # base64 text above this is spliced into the serialized message, not put in the tree


def decode_base64(name: str, text: str | bytes | None) -> bytes:
    """Strict base64 (SIMD, pybase64); line breaks are allowed, as XML Schema's base64Binary does."""
    if not text:
        return b""
    try:
        return pybase64.b64decode(text, validate=True)
    except ValueError:
        pass
    try:  # the slow path only for text with whitespace (some stacks wrap lines at 76 characters)
        stripped = _WHITESPACE.sub("", text if isinstance(text, str) else text.decode("ascii", "replace"))
        return pybase64.b64decode(stripped, validate=True)
    except ValueError as exc:
        raise ClientFault(f"argument {name!r}: NDArray data is not valid base64 ({exc})") from None


def encode_base64(data: bytes) -> bytes:
    """base64 (SIMD, pybase64)."""
    return pybase64.b64encode(data)


class Splicer:
    """Large base64 payloads kept out of the lxml tree: a short marker goes in the tree, and the bytes
    replace it in the serialized message (lxml would copy and scan every character of the text)."""

    def __init__(self) -> None:
        self._blobs: dict[bytes, bytes] = {}
        self._prefix = f"wrapgen-splice-{pybase64.b64encode(np.random.bytes(9), altchars=b'-_').decode()}-"

    def attach(self, b64: bytes) -> str:
        """A marker to put in the tree for b64."""
        marker = f"{self._prefix}{len(self._blobs)}."
        self._blobs[marker.encode()] = b64
        return marker

    def splice(self, xml: bytes) -> bytes:
        """The serialized message with every marker replaced by its bytes."""
        if not self._blobs:
            return xml
        parts, pos, prefix = [], 0, self._prefix.encode()
        while True:
            i = xml.find(prefix, pos)
            if i < 0:
                break
            j = xml.index(b".", i + len(prefix)) + 1
            parts += [xml[pos:i], self._blobs[xml[i:j]]]
            pos = j
        parts.append(xml[pos:])
        return b"".join(parts)


def scalar_from_text(name: str, arg: Arg, text: str | None) -> Any:
    """Parse one XML Schema scalar for an argument; errors say what was expected."""
    text = (text or "").strip()
    try:
        if arg.dtype in INTEGER_DTYPES:
            v = int(text)
            if not fits_integer(v, arg.dtype):
                raise ValueError
            return v
        if arg.dtype in ("float32", "float64"):
            return float({"INF": "inf", "-INF": "-inf", "NaN": "nan"}.get(text, text))
        if arg.dtype == "bool":
            if text not in ("true", "false", "1", "0"):
                raise ValueError
            return text in ("true", "1")
        if arg.dtype == "string":
            return text
    except ValueError:
        raise ClientFault(f"argument {name!r}: {text!r} is not a valid {XSD_TYPES[arg.dtype]} ({arg.dtype})") \
            from None
    raise ClientFault(f"argument {name!r}: dtype {arg.dtype} cannot be sent over SOAP")


def scalar_text(arg: Arg, value: Any) -> str:
    """XML Schema lexical form of a scalar."""
    if arg.dtype == "bool":
        return "true" if value else "false"
    if arg.dtype in ("float32", "float64"):
        v = float(value)
        return "INF" if v == math.inf else "-INF" if v == -math.inf else "NaN" if v != v else repr(v)
    if arg.dtype in INTEGER_DTYPES:
        return str(int(value))
    return str(value)


def _child(parent: etree._Element, ns: str, local: str, text: str | None = None) -> etree._Element:
    e = etree.SubElement(parent, f"{{{ns}}}{local}")
    if text is not None:
        e.text = text
    return e


def write_ndarray(elem: etree._Element, ns: str, value: Any,
                  offload: Callable[[np.ndarray], str | None] | None = None,
                  splicer: Splicer | None = None) -> None:
    """Fill elem with an NDArray's children: dtype, shape..., order, then data (base64) or href."""
    dtype, shape, order, data = array_parts(value)
    _child(elem, ns, "dtype", dtype)
    for d in shape:
        _child(elem, ns, "shape", str(d))
    _child(elem, ns, "order", order)
    href = offload(value) if offload is not None else None
    if href is not None:
        _child(elem, ns, "href", href)
    else:
        b64 = encode_base64(data)
        _child(elem, ns, "data", splicer.attach(b64) if splicer is not None and len(b64) > SPLICE_MIN
               else b64.decode("ascii"))


def ndarray_fields(elem: etree._Element, ns: str) -> tuple[str, list[str | None], str | None, str | None, str | None]:
    """(dtype, shape entries, order, base64 data, href) of an NDArray element, unchecked."""
    return ((elem.findtext(f"{{{ns}}}dtype") or "").strip(), [e.text for e in elem.findall(f"{{{ns}}}shape")],
            elem.findtext(f"{{{ns}}}order"), elem.findtext(f"{{{ns}}}data"), elem.findtext(f"{{{ns}}}href"))


def encode_value(parent: etree._Element, ns: str, name: str, arg: Arg, value: Any,
                 offload: Callable[[np.ndarray], str | None] | None = None,
                 splicer: Splicer | None = None, inner: str | None = None) -> etree._Element:
    """Append <name> holding value (scalar text, Complex or NDArray) under parent; inner: the namespace of the
    NDArray and Complex fields (their types' schema), when it is not ns (a class's messages)."""
    elem = _child(parent, ns, name)
    inner = inner or ns
    if arg.is_array:
        write_ndarray(elem, inner, value, offload, splicer)
    elif arg.dtype in ("complex64", "complex128"):
        c = complex(value)
        _child(elem, inner, "re", repr(c.real))
        _child(elem, inner, "im", repr(c.imag))
    else:
        elem.text = scalar_text(arg, value)
    return elem


def decode_value(elem: etree._Element, ns: str, name: str, arg: Arg) -> Any:
    """The Python value of an element written by encode_value (or by any client following the WSDL); ns is the
    namespace of its NDArray or Complex fields."""
    if arg.is_array:
        dtype, shape, order, data, href = ndarray_fields(elem, ns)
        if href is not None:
            raise ClientFault(f"argument {name!r}: an NDArray sent to the service must carry its data inline")
        return array_from_parts(name, dtype, shape, order, decode_base64(name, data),
                                expected_dtype=arg.dtype if arg.convert == "error" or arg.intent == "inout" else None)
    if arg.dtype in ("complex64", "complex128"):
        try:
            return complex(float(elem.findtext(f"{{{ns}}}re") or "nan"), float(elem.findtext(f"{{{ns}}}im") or "0"))
        except ValueError:
            raise ClientFault(f"argument {name!r}: expected a Complex with numeric re and im") from None
    return scalar_from_text(name, arg, elem.text)
