"""The import graph of wrapgen/ against the layering in DESIGN.md (issue 12): no two modules import each other
(directly or round a longer circle), and no subpackage imports one above it. Imports under `if TYPE_CHECKING:`
are annotations only and do not count; imports inside functions (lazy ones) do."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "wrapgen"
BASE = {"errors", "_version", "net", "proc", "checksum", "_sqlite", "settings", "egress", "netlogger"}
# What each part may import besides itself and BASE; the entry points ((top), cli, doctor, __main__, run) may
# import anything, and nothing imports them.
ALLOWED: dict[str, set[str]] = {
    "errors": set(), "_version": set(), "net": {"errors"}, "proc": {"errors"}, "checksum": {"errors"},
    "_sqlite": set(), "settings": {"errors"}, "egress": set(), "netlogger": set(),
    "spec": BASE, "gsi": BASE, "urls": BASE | {"gsi"},
    "bind": BASE | {"spec"},
    "gridftp": BASE | {"gsi", "urls"},
    "gram": BASE | {"urls", "bind", "gsi", "spec"},
    "wsrf": BASE | {"gram", "bind", "gsi", "spec"},
    "pipeline": BASE | {"gram", "urls", "bind", "gsi", "spec", "wsrf", "gridftp"},
    "web": BASE | {"pipeline", "gram", "urls", "bind", "gsi", "spec", "wsrf"},
}
ENTRY = {"(top)", "cli", "doctor", "__main__", "run"}
LONG = 600  # lines; a longer module says why in its docstring ("long because")


def _modules() -> dict[str, Path]:
    out = {}
    for f in ROOT.rglob("*.py"):
        parts = ["wrapgen", *f.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, f in mods.items():
        tree = ast.parse(f.read_text())
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        here = name.split(".") if f.name == "__init__.py" else name.split(".")[:-1]
        deps = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom):
                base = ".".join(here[: len(here) - node.level + 1] + ([node.module] if node.module else [])) \
                    if node.level else node.module or ""
                for alias in node.names:
                    if alias.name == "_core":
                        continue  # the native extension
                    full = f"{base}.{alias.name}"
                    deps.add(full if full in mods else base)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(top)"


def test_no_module_imports_another_that_imports_it_back() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not circles, f"modules that import each other: {circles}"


def test_no_part_imports_one_above_it() -> None:
    wrong = []
    for a, deps in _graph().items():
        pa = _part(a)
        for b in deps:
            pb = _part(b)
            if pa == pb or pa in ENTRY:
                continue
            if pb in ENTRY or pb not in ALLOWED.get(pa, set()) | BASE:
                wrong.append(f"{a} imports {b}")
    assert not wrong, "imports against DESIGN.md's layering:\n" + "\n".join(sorted(wrong))


def test_long_modules_say_why() -> None:
    long = [f"{f.relative_to(ROOT.parent)}: {n} lines" for f in ROOT.rglob("*.py")
            if (n := len(f.read_text().splitlines())) > LONG and "long because" not in (ast.get_docstring(
                ast.parse(f.read_text())) or "")]
    assert not long, f"modules over {LONG} lines without a reason in their docstring: {long}"
