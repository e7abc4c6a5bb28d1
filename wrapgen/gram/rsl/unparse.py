"""A syntax tree back to RSL text: one canonical line that parses to the same tree."""

from __future__ import annotations

import re

from .ast import Boolean, Concat, Literal, Relation, Sequence, Value, Variable

_BARE = re.compile(r"[^\s+&|()=<>!\"'^#$]+")


def unparse(node: Boolean | Relation | Value) -> str:
    """RSL text for a tree (a request, a relation or a value)."""
    if isinstance(node, Boolean):
        return node.op + "".join(unparse(o) if isinstance(o, Relation) else f"({unparse(o)})" for o in node.operands)
    if isinstance(node, Relation):
        return f"({node.attribute} {node.op} {' '.join(unparse(v) for v in node.values)})"
    if isinstance(node, Sequence):
        return "(" + " ".join(unparse(v) for v in node.items) + ")"
    if isinstance(node, Concat):
        return "#".join(unparse(p) for p in node.parts)
    if isinstance(node, Variable):
        return f"$({node.name})"
    return quote(node.text)


def quote(text: str) -> str:
    """A literal as RSL: bare when it can be, else in double quotes with "" for a quote."""
    if _BARE.fullmatch(text) and "(*" not in text and "*)" not in text:
        return text
    return '"' + text.replace('"', '""') + '"'


__all__ = ["Literal", "quote", "unparse"]
