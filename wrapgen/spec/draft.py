"""`wrapgen init`: draft a spec from legacy sources, marking with TODO what only a person can decide.

Fortran is read with numpy.f2py's crackfortran. The draft always validates; its TODO comments say
where intents, extents and error codes were guessed.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SpecError, SpecIssue

STATUS_NAMES = re.compile(r"^(info|ierr|ier|iflag|istat|status|stat|ifail|ierror)$", re.I)
SIZE_NAMES = re.compile(r"^(n|m|k|nn|nx|ny|nz|nrhs|ld[a-z]|n[a-z]|lwork|liwork)$", re.I)


@dataclass
class DraftArg:
    """One argument as it will be written, with the reasons for anything guessed."""

    name: str
    fields: dict[str, object]
    todo: list[str] = field(default_factory=list)


@dataclass
class DraftFunction:
    """One routine as it will be written."""

    name: str
    symbol: str | None
    args: list[DraftArg]
    result: dict[str, object] | None = None
    errors_from: str | None = None
    todo: list[str] = field(default_factory=list)


def _fortran_dtype(var: dict, params: dict[str, str]) -> tuple[str, str | None]:
    """(dtype, TODO or None) for a crackfortran variable."""
    spec = var.get("typespec", "")
    kind = var.get("kindselector", {}) or {}
    size = kind.get("*") or kind.get("kind")
    if isinstance(size, str) and size in params:  # kind=dp with dp = kind(1.0d0)
        value = params[size].lower().replace(" ", "")
        size = "8" if ("d0" in value or "selected_real_kind(1" in value or value in ("8", "real64", "int64")) \
            else "4" if value in ("4", "real32", "int32") or "e0" in value else None
    if spec == "double precision":
        return "float64", None
    if spec == "double complex":
        return "complex128", None
    if spec == "real":
        if size in (None, "4"):
            return "float32", None if size else "REAL without a kind is float32; check it is not promoted (-fdefault-real-8)"
        if size == "8":
            return "float64", None
        return "float64", f"could not read kind {kind}; check the dtype"
    if spec == "complex":
        return ("complex128", None) if size in ("8", "16") else ("complex64", None)
    if spec == "integer":
        return ("int64", None) if size == "8" else ("int32", None)
    if spec == "logical":
        return "bool", None
    if spec == "character":
        return "string", None
    return "float64", f"unknown type {spec!r}; check the dtype"


def draft_fortran(paths: list[Path]) -> list[DraftFunction]:
    """Routines (and module procedures) of Fortran sources."""
    from numpy.f2py import crackfortran

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        crackfortran.verbose = 0
        blocks = crackfortran.crackfortran([str(p) for p in paths])
    out: list[DraftFunction] = []
    for block in blocks:
        if block["block"] == "module":
            params = {n: v.get("=", "") for n, v in block.get("vars", {}).items() if "=" in v}
            for routine in block.get("body", []):
                if routine["block"] in ("subroutine", "function"):
                    out.append(_fortran_routine(routine, params, module=block["name"]))
        elif block["block"] in ("subroutine", "function"):
            out.append(_fortran_routine(block, {}, module=None))
    return out


def _fortran_routine(block: dict, params: dict[str, str], module: str | None) -> DraftFunction:
    variables = block.get("vars", {})
    names = list(block.get("args", []))
    ints = [n for n in names if variables.get(n, {}).get("typespec") == "integer" and "dimension" not in variables[n]]
    args: list[DraftArg] = []
    errors_from = None
    for name in names:
        var = variables.get(name, {})
        if "external" in var.get("attrspec", []) or (not var and name not in variables):
            args.append(DraftArg(name, {"dtype": "callback"},
                                 [f"a callable: describe its arguments under callbacks.{name}"]))
            continue
        dtype, why = _fortran_dtype(var, params)
        fields: dict[str, object] = {"dtype": dtype}
        todo = [why] if why else []
        dims = var.get("dimension")
        intent = (var.get("intent") or [None])[0]
        if dims:
            shape: list[str] = []
            for d in dims:
                d = d.replace(" ", "")
                if d == "*":
                    guess = next((i for i in ints if i.lower() in ("n", "m", "lwork")), ints[0] if ints else None)
                    if guess is None:
                        shape.append(":")
                        todo.append("assumed-size (*): no integer argument to size it; give its extent")
                    else:
                        shape.append(guess)
                        todo.append(f"assumed-size (*): extent guessed as {guess}; give the real one")
                elif d == ":":
                    shape.append(":")
                else:
                    shape.append(d.lower())
            fields["shape"] = shape
        if intent in ("in", "out", "inout"):
            fields["intent"] = intent
        elif intent is None:
            if not dims and STATUS_NAMES.match(name):
                fields["intent"] = "out"
                todo.append("looks like a status code: intent out, and add its codes under errors")
                errors_from = errors_from or name
            elif not dims and SIZE_NAMES.match(name) and dtype.startswith("int"):
                todo.append("a size? then intent hide with value: \"shape(ARRAY, DIM)\"")
            else:
                todo.append("intent in, out or inout?" if dims else "intent in or out?")
        if intent == "out" and not dims and STATUS_NAMES.match(name):
            errors_from = errors_from or name
        args.append(DraftArg(name, fields, todo))
    result = None
    if block["block"] == "function":
        rvar = variables.get(block.get("result", block["name"]), {})
        dtype, _ = _fortran_dtype(rvar, params)
        result = {"dtype": dtype}
    symbol = f"{module}::{block['name']}" if module else None
    return DraftFunction(block["name"], symbol, args, result, errors_from)


def _value(v: object) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    text = str(v)
    return text if re.fullmatch(r"[A-Za-z0-9_.]+", text) else '"' + text.replace('"', '\\"') + '"'


def render(name: str, language: str, sources: list[str], functions: list[DraftFunction], origin: str) -> str:
    """The draft spec as YAML text with TODO comments."""
    lines = [f"# Draft spec written by `wrapgen init` from {origin}.",
             "# Lines marked TODO are guesses only a person can confirm: intents, extents and error codes.",
             "# Check with `wrapgen check THIS_FILE`, build with `wrapgen build THIS_FILE`.",
             f"name: {name}", f"language: {language}", 'version: "0"', f"sources: {_value(sources)}", "functions:"]
    for fn in functions:
        lines.append(f"  {fn.name}:")
        if fn.symbol:
            lines.append(f"    symbol: {_value(fn.symbol)}")
        lines.append('    doc: ""  # TODO: what it computes')
        if fn.args:
            lines.append("    args:  # in the routine's own order")
        for arg in fn.args:
            body = ", ".join(f"{k}: {_value(v)}" for k, v in arg.fields.items())
            comment = f"  # TODO: {'; '.join(arg.todo)}" if arg.todo else ""
            lines.append(f"      {arg.name}: {{{body}}}{comment}")
        if fn.result:
            lines.append(f"    result: {{dtype: {fn.result['dtype']}}}")
        callbacks = [a.name for a in fn.args if a.fields.get("dtype") == "callback"]
        if callbacks:
            lines.append("    callbacks:  # TODO: the arguments each callable is called with")
            lines += [f"      {c}: {{args: {{}}}}" for c in callbacks]
        if fn.errors_from:
            lines += ["    errors:  # TODO: the codes the routine documents",
                      f"      from: {fn.errors_from}",
                      "      codes:",
                      '        - {code: "<0", exception: ValueError, message: "argument {-code} had an illegal value"}',
                      '        - {code: ">0", exception: RuntimeError, message: "failed with status {code}"}']
    return "\n".join(lines) + "\n"


LANGUAGES = {".f": "fortran", ".for": "fortran", ".f77": "fortran", ".f90": "fortran", ".f95": "fortran",
             ".f03": "fortran", ".f08": "fortran", ".c": "c", ".h": "c", ".cpp": "cpp", ".cc": "cpp",
             ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp"}


def draft(sources: list[str | os.PathLike[str]], output: str | os.PathLike[str], name: str | None = None) -> str:
    """Write a draft spec for the sources to output (paths in it relative to output); returns its text."""
    paths = [Path(s) for s in sources]
    for p in paths:
        if not p.is_file():
            raise SpecError([SpecIssue(str(p), 0, 0, "", "source file not found")])
    kinds = {LANGUAGES.get(p.suffix.lower()) for p in paths}
    if None in kinds:
        bad = [str(p) for p in paths if p.suffix.lower() not in LANGUAGES]
        raise SpecError([SpecIssue(bad[0], 0, 0, "", f"cannot tell the language from the suffix; expected one of "
                                                     f"{', '.join(sorted(LANGUAGES))}")])
    if len(kinds) != 1 or kinds != {"fortran"}:
        raise SpecError([SpecIssue(str(paths[0]), 0, 0, "", "only Fortran sources can be drafted so far")])
    functions = draft_fortran(paths)
    if not functions:
        raise SpecError([SpecIssue(str(paths[0]), 0, 0, "", "no subroutines or functions found")])
    out = Path(output)
    rel = [os.path.relpath(p.resolve(), out.resolve().parent) for p in paths]
    lib_name = name or re.sub(r"\W", "_", paths[0].stem)
    text = render(lib_name, "fortran", rel, functions, ", ".join(str(p) for p in paths))
    out.write_text(text)
    return text
