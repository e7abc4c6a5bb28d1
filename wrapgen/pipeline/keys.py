"""Content-addressed step keys: sha256 of the canonical step record. The record holds what decides a step's
outputs -- the kernel's identity, its parameters, the content digests of its inputs -- and never paths, mtimes,
attempt numbers, log locations or where the step runs (a job's result is a hit for the same step run locally)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .graph import Node


def canonical(record: dict[str, Any]) -> bytes:
    """The record as canonical JSON bytes (sorted keys, no spaces, floats as Python's shortest repr)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key_of(record: dict[str, Any]) -> str:
    """The step key: sha256 of the canonical record."""
    return hashlib.sha256(canonical(record)).hexdigest()


def param_value(node: Node, name: str, value: Any) -> Any:
    """A parameter as the kernel sees it: 1 and 1.0 are one value for a float64 argument."""
    arg = node.library.functions[node.function].args.get(name) if node.library is not None else None
    if arg is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        if arg.dtype.startswith(("float", "complex")):
            return float(value)
    return value


def compute_record(node: Node, kernel: str, inputs: dict[str, str]) -> dict[str, Any]:
    """A compute step's record: kernel identity, function, parameters, input digests, the outputs kept."""
    return {"kind": "compute", "kernel": kernel, "library": node.library.name, "function": node.function,
            "params": {k: param_value(node, k, v) for k, v in node.params.items()}, "inputs": inputs,
            "outputs": sorted(node.outputs)}


def call_record(node: Node, interface: str, inputs: dict[str, str]) -> dict[str, Any]:
    """A call step's record: the digest of the service's WSDL (its interface; the service's URL is where it runs,
    like a job's placement), the operation, parameters, input digests, the outputs kept."""
    return {"kind": "call", "interface": interface, "operation": node.function, "params": dict(node.params),
            "inputs": inputs, "outputs": sorted(node.outputs)}


def python_record(node: Node, inputs: dict[str, str]) -> dict[str, Any]:
    """A python step's record: its expression's text, parameters and input digests."""
    return {"kind": "python", "expr": node.function, "params": dict(node.params), "inputs": inputs}


def stage_in_record(node: Node, probe: dict[str, Any]) -> dict[str, Any]:
    """A stage-in's record: the content digest when known before fetching (declared, or the server's SHA256),
    so the same bytes at another URL are the same step; else the URL and what the server says of the file."""
    if "sha256" in probe:
        return {"kind": "stage_in", "content": probe["sha256"]}
    return {"kind": "stage_in", "url": node.url, "probe": probe}


def stage_out_record(node: Node, digest: str) -> dict[str, Any]:
    """A stage-out's record: the destination and the content delivered there."""
    return {"kind": "stage_out", "url": node.url, "content": digest}


def diff(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Field by field, what changed from the record a step last had to the one it has now."""
    if old is None:
        return ["never run before"]
    out: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                here = f"{where}.{k}" if where else k
                if k not in a:
                    out.append(f"{here}: added ({_short(b[k])})")
                elif k not in b:
                    out.append(f"{here}: removed (was {_short(a[k])})")
                else:
                    walk(a[k], b[k], here)
        elif a != b or type(a) is not type(b):
            label = {"kernel": "kernel (spec, sources, compilers or wrapgen) changed",
                     "content": "content changed"}.get(where.rsplit(".", 1)[-1])
            out.append(f"{where}: {label + ': ' if label else ''}{_short(a)} -> {_short(b)}")

    walk(old, new, "")
    return out


def _short(v: Any) -> str:
    if isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v):
        return v[:12]
    text = json.dumps(v)
    return text if len(text) <= 60 else text[:57] + "..."
