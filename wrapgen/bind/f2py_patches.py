"""Small, checked edits to the code f2py generates, for what f2py cannot be told to do."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import BindError

_CALLBACK = re.compile(r"^static (?P<ret>[\w \*]+?)\s*(?P<name>cb_\w+) \((?P<params>[^)]*)\) \{$", re.M)


def strip_threadsafe(fortran_wrapper: str) -> str:
    """f2py copies the .pyf body, `threadsafe` included, into the interface blocks of its Fortran wrappers
    for assumed-shape routines outside modules; that line is not Fortran (numpy 2.4)."""
    return re.sub(r"(?mi)^[ \t]*threadsafe[ \t]*\n", "", fortran_wrapper)


def _function_end(text: str, open_brace: int) -> int:
    """Index just past the brace that closes the one at open_brace (string and char literals skipped)."""
    depth, i, quote = 0, open_brace, None
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise BindError("internal error: unbalanced braces in f2py's generated module")


def callbacks_take_the_gil(module_c: str, expected: int) -> str:
    """Make every f2py callback function take the GIL while it runs.

    The routine itself is generated `threadsafe` (GIL released around the Fortran call); f2py's callback
    code then calls into Python without the GIL. Each `cb_*` function is renamed `cb_*_holding_gil` and a
    wrapper of the original name takes the GIL around it. Exactly `expected` callbacks must be found.
    """
    found = list(_CALLBACK.finditer(module_c))
    if len(found) != expected:
        raise BindError(f"internal error: expected {expected} callback functions in f2py's output, found "
                        f"{len(found)}; this numpy's f2py generates code wrapgen does not know")
    for m in reversed(found):  # from the end, so earlier offsets stay valid
        ret, name, params = m["ret"].strip(), m["name"], m["params"]
        names = [re.findall(r"\w+", p)[-1] for p in params.split(",") if p.strip() and p.strip() != "void"]
        end = _function_end(module_c, m.end() - 1)
        call = f"{name}_holding_gil({', '.join(names)})"
        body = (f"    {call};\n    PyGILState_Release(wg_gil);\n" if ret == "void" else
                f"    {ret} wg_result = {call};\n    PyGILState_Release(wg_gil);\n    return wg_result;\n")
        wrapper = (f"\n/* wrapgen: the routine runs without the GIL; its callback takes it back. */\n"
                   f"static {ret} {name} ({params}) {{\n    PyGILState_STATE wg_gil = PyGILState_Ensure();\n"
                   f"{body}}}\n")
        module_c = (module_c[:m.start()] + f"static {ret} {name}_holding_gil ({params}) {{"
                    + module_c[m.end():end] + wrapper + module_c[end:])
    return module_c


def patch_generated(gen: Path, n_callbacks: int) -> None:
    """Apply the edits to the files f2py wrote into gen/."""
    for path in gen.iterdir():
        if path.suffix in (".f", ".f90"):
            text = path.read_text()
            cleaned = strip_threadsafe(text)
            if cleaned != text:
                path.write_text(cleaned)
        elif path.name.endswith("module.c") and n_callbacks:
            path.write_text(callbacks_take_the_gil(path.read_text(), n_callbacks))
