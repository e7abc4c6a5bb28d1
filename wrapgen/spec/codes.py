"""Status-code patterns of a spec's error table (`3`, `'<0'`, `'1..5'`): read once here, for the loader's checks,
the generator and the generated modules' run time (no pydantic, no numpy: generated code imports it)."""

from __future__ import annotations

import re

PATTERN = re.compile(r"^\s*(?:(?P<op><=|>=|==|!=|<|>)\s*(?P<v>-?\d+)|(?P<lo>-?\d+)\s*\.\.\s*(?P<hi>-?\d+))\s*$")


def matches(pattern: int | str, code: int) -> bool:
    """Whether a status code is one the pattern describes (the pattern was checked when the spec was loaded)."""
    if isinstance(pattern, int):
        return code == pattern
    m = PATTERN.match(pattern)
    assert m, pattern
    if m["op"]:
        v = int(m["v"])
        return {"<": code < v, "<=": code <= v, ">": code > v, ">=": code >= v, "==": code == v,
                "!=": code != v}[m["op"]]
    return int(m["lo"]) <= code <= int(m["hi"])
