"""`wrapgen init`: draft a spec from legacy sources, marking with TODO what only a person can decide.

Fortran is read with numpy.f2py's crackfortran. The draft always validates; its TODO comments say
where intents, extents and error codes were guessed.
"""

from __future__ import annotations

import contextlib
import io
import keyword
import os
import re
import sys
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
    codes: dict[str, int] = field(default_factory=dict)  # error macros of the header (NAME_ERROR -> -5)
    skip: str | None = None  # why it cannot be wrapped as it is (listed at the end of the draft, not drafted)


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


def _arg_lines(args: list[DraftArg], indent: str) -> list[str]:
    out = []
    for arg in args:
        body = ", ".join(f"{k}: {_value(v)}" for k, v in arg.fields.items())
        comment = f"  # TODO: {'; '.join(arg.todo)}" if arg.todo else ""
        out.append(f"{indent}{arg.name}: {{{body}}}{comment}")
    return out


def render(name: str, language: str, sources: list[str], functions: list[DraftFunction], origin: str,
           headers: list[str] = (), classes: list[DraftClass] = (), exceptions: dict[str, str] | None = None) -> str:  # type: ignore[assignment]
    """The draft spec as YAML text with TODO comments."""
    lines = [f"# Draft spec written by `wrapgen init` from {origin}.",
             "# Lines marked TODO are guesses only a person can confirm: intents, extents and error codes.",
             "# Check with `wrapgen check THIS_FILE`, build with `wrapgen build THIS_FILE`.",
             f"name: {name}", f"language: {language}", 'version: "0"', f"sources: {_value(sources)}"]
    if not sources:  # a header alone: the library it declares must be linked (a draft always validates)
        lib = _guess_library(Path(origin.split(", ")[0]).stem)
        lines.append(f"libraries: [{lib}]  # TODO: the library to link (-l{lib}), or give its .c sources instead")
    if headers:
        lines.append(f"headers: {_value(list(headers))}")
    if exceptions:
        lines.append("exceptions:  # TODO: C++ exception type -> Python exception (a builtin, or a new class name)")
        lines += [f"  {_value(k)}: {v}" for k, v in exceptions.items()]
    if classes:
        lines.append("classes:")
        for cls in classes:
            lines += [f"  {cls.name}:", f"    symbol: {_value(cls.symbol)}", '    doc: ""  # TODO: what it models']
            if cls.constructors:
                lines.append("    constructors:")
                for ctor in cls.constructors:
                    lines.append("      - args: {}" if not ctor else "      - args:")
                    lines += _arg_lines(ctor, "          ")
            if cls.methods:
                lines.append("    methods:")
                for m in cls.methods:
                    lines.append(f"      {m.name}:")
                    if m.args:
                        lines.append("        args:")
                        lines += _arg_lines(m.args, "          ")
                    if m.result:
                        lines.append(f"        result: {{{', '.join(f'{k}: {_value(v)}' for k, v in m.result.items())}}}")
            if cls.properties:
                lines.append("    properties:")
                lines += [f"      {n}: {{{', '.join(f'{k}: {_value(v)}' for k, v in f.items())}}}"
                          for n, f in cls.properties]
    skipped = [fn for fn in functions if fn.skip]
    functions = [fn for fn in functions if not fn.skip]
    lines.append("functions:" if functions else "functions: {}")
    for fn in functions:
        lines.append(f"  {fn.name}:")
        if fn.symbol:
            lines.append(f"    symbol: {_value(fn.symbol)}")
        lines.append('    doc: ""  # TODO: what it computes')
        if fn.args:
            lines.append("    args:  # in the routine's own order")
        lines += _arg_lines(fn.args, "      ")
        if fn.result:
            lines.append(f"    result: {{{', '.join(f'{k}: {_value(v)}' for k, v in fn.result.items())}}}")
        callbacks = [a.name for a in fn.args if a.fields.get("dtype") == "callback"]
        if callbacks:
            lines.append("    callbacks:  # TODO: the arguments each callable is called with")
            lines += [f"      {c}: {{args: {{}}}}" for c in callbacks]
        if fn.errors_from == "return":
            lines += ["    errors:  # TODO: is the int result a status? then list its codes; else delete this",
                      "      from: return",
                      "      codes:"]
            lines += [f'        - {{code: {v}, exception: RuntimeError, message: "{k} ({{code}})"}}  # TODO: from the '
                      f"header's #define; choose the exception" for k, v in fn.codes.items()]
            lines.append('        - {code: "!=0", exception: RuntimeError, message: "failed with status {code}"}')
        elif fn.errors_from:
            lines += ["    errors:  # TODO: the codes the routine documents",
                      f"      from: {fn.errors_from}",
                      "      codes:",
                      '        - {code: "<0", exception: ValueError, message: "argument {-code} had an illegal value"}',
                      '        - {code: ">0", exception: RuntimeError, message: "failed with status {code}"}']
    if skipped:
        lines += ["# Left out: wrapgen cannot pass these from Python as they are (bind them in a small C or C++ helper",
                  "# that takes arrays and numbers, and wrap that):"]
        lines += [f"#   {fn.name}: {fn.skip}" for fn in skipped]
    return "\n".join(lines) + "\n"


_C_SCALARS = {"int": "int32", "int32_t": "int32", "long": "int64", "long long": "int64", "int64_t": "int64",
              "double": "float64", "float": "float32", "bool": "bool", "_Bool": "bool",
              # canonical spellings of typedefs (size_t, uLong, Bytef, int16_t, ...)
              "signed char": "int8", "unsigned char": "uint8", "char": "uint8", "short": "int16",
              "unsigned short": "uint16", "unsigned int": "uint32", "unsigned long": "uint64",
              "long int": "int64", "unsigned long long": "uint64", "void": "uint8"}
# How wrapgen spells each dtype in C: a header type spelled otherwise (a typedef) is kept as the ctype.
_DTYPE_C = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "uint16": "uint16_t", "int32": "int",
            "uint32": "uint32_t", "int64": "int64_t", "uint64": "uint64_t", "float64": "double", "float32": "float",
            "bool": "bool"}
LENGTH_NAMES = re.compile(r"^(n|m|k|nn|len|length|size|count|cap|capacity|num|nbytes|nelem|n_\w+|\w*len|\w*size|"
                          r"\w*count)$", re.I)


def _clang_args(language: str) -> list[str]:
    import subprocess

    args = ["-x", "c++" if language == "cpp" else "c"] + (["-std=c++17"] if language == "cpp" else [])
    try:  # the libclang wheel has no builtin headers (stddef.h); gcc's serve
        inc = subprocess.run(["gcc", "-print-file-name=include"], capture_output=True, text=True, timeout=30).stdout
        if inc.strip() and Path(inc.strip()).is_dir():
            args += ["-isystem", inc.strip()]
    except OSError:
        pass
    return args


def _c_type(t, name: str, ints: list[str]) -> tuple[dict[str, object], list[str]]:
    """Spec fields and TODOs for a clang type (a typedef is kept as ctype, so the real header compiles)."""
    from clang.cindex import TypeKind

    spelling = t.spelling
    canonical = t.get_canonical().spelling
    bare = re.sub(r"\b(const|volatile)\b|[&\s]+$", "", spelling).strip()
    if "std::vector<" in canonical or "std::vector<" in spelling:
        inner = re.search(r"vector<\s*([\w\s]+?)\s*(?:,|>)", canonical) or re.search(r"vector<\s*([\w\s]+?)\s*>", spelling)
        dtype = _C_SCALARS.get(inner.group(1).strip(), "float64") if inner else "float64"
        return {"dtype": dtype, "shape": [":"], "ctype": f"std::vector<{inner.group(1).strip() if inner else 'double'}>"}, []
    if "basic_string" in canonical or bare in ("std::string", "string"):
        return {"dtype": "string"}, []
    if t.get_canonical().kind == TypeKind.POINTER:
        pointee = t.get_canonical().get_pointee()
        base = re.sub(r"\b(const|volatile)\b", "", pointee.spelling).strip()
        if base == "char" and pointee.is_const_qualified() and "unsigned" not in spelling:
            return {"dtype": "string"}, []
        if base in _C_SCALARS:
            dtype = _C_SCALARS[base]
            fields: dict[str, object] = {"dtype": dtype}
            plain = {_DTYPE_C.get(dtype), "_Bool" if dtype == "bool" else None} - {None}
            ctype = None if any(spelling.replace(" ", "") in (f"{c}*", f"const{c}*") for c in plain) else spelling
            if not pointee.is_const_qualified() and LENGTH_NAMES.match(name) and base != "void":
                # size_t *len: a length going in and coming back, not an array
                fields.update({"intent": "inout"})
                if ctype:
                    fields["ctype"] = ctype
                return fields, ["a length passed by pointer: tie it to its buffer (value: 'size(BUF)' to compute it "
                                "from the buffer, or limit: 'size(BUF)'), or make it intent out"]
            size = next((i for i in ints if LENGTH_NAMES.match(i)), ints[0] if ints else None)
            fields["shape"] = [size or ":"]
            todos = [f"extent guessed as {size}; give the real one" if size
                     else "give the array's extent, or tie a length argument to it (limit: 'size(" + name + ")')"]
            if base == "void":
                todos.insert(0, "a void * buffer: say what it holds (dtype)")
            if pointee.is_const_qualified():
                fields["intent"] = "in"
            else:
                fields["intent"] = "inout"
                todos.append("intent inout or out? or a single output value: then no shape and intent out")
            if ctype:
                fields["ctype"] = ctype
            return fields, todos
        return {"dtype": "object", "ctype": spelling}, [f"a pointer to {pointee.spelling}, which wrapgen cannot pass "
                                                        "from Python: bind it in a small C++ helper, or leave the "
                                                        "function out"]
    dtype = _C_SCALARS.get(bare) or _C_SCALARS.get(canonical)
    # "char" and "void" are bytes only as what a pointer points to: a plain char is text, not a number
    if dtype and canonical not in ("char", "void"):
        return {"dtype": dtype}, []  # by value: C++ converts to the header's own type (size_t, uLong) itself
    return {"dtype": "object", "ctype": canonical}, [f"passed as the C++ type {canonical}; check it is bound"]


def _guess_library(stem: str) -> str:
    """The library a header declares: zlib.h -> z, libpng.h -> png, foo.h -> foo (the first one installed)."""
    import ctypes.util

    candidates = [stem, stem.removeprefix("lib"), stem.removesuffix("lib")]
    return next((c for c in candidates if c and ctypes.util.find_library(c)), stem.removeprefix("lib") or stem)


def _tie_lengths(args: list[DraftArg]) -> None:
    """A C API passes a buffer's length next to it: `(buf, n)` or `(dst, size_t *dstlen)`. Tie them, so that the
    draft is safe as written (the kernel never trusts a length the caller could get wrong)."""
    for i, arg in enumerate(args[:-1]):
        nxt = args[i + 1]
        if "shape" not in arg.fields or arg.fields.get("ctype", "").startswith("std::"):
            continue
        by_pointer = "shape" not in nxt.fields and nxt.fields.get("intent") == "inout"
        by_value = "shape" not in nxt.fields and "intent" not in nxt.fields and \
            str(nxt.fields.get("dtype", "")).startswith(("int", "uint")) and \
            (LENGTH_NAMES.match(nxt.name) or nxt.name.lower().startswith(arg.name.lower()))
        if not (by_pointer or by_value):
            continue
        arg.fields["shape"] = [":"]
        arg.todo = [t for t in arg.todo if not t.startswith(("extent guessed", "give the array's extent"))]
        nxt.fields["value"] = f"size({arg.name})"
        if by_pointer:  # the capacity going in, the length written coming back
            nxt.todo = [f"the capacity of {arg.name} going in (computed), the length written coming back"]
        else:
            nxt.fields["intent"] = "hide"
            nxt.fields = {k: nxt.fields[k] for k in ("dtype", "intent", "value", "ctype") if k in nxt.fields}
            nxt.todo = [f"computed as the size of {arg.name}; if the caller may pass less, make it a parameter with "
                        f"limit: 'size({arg.name})' instead"]


def _qualified(cursor) -> str:
    parts = []
    c = cursor
    from clang.cindex import CursorKind

    while c is not None and c.kind != CursorKind.TRANSLATION_UNIT:
        if c.spelling:
            parts.append(c.spelling)
        c = c.semantic_parent
    return "::".join(reversed(parts))


@dataclass
class DraftClass:
    """A C++ class as it will be written."""

    name: str
    symbol: str
    constructors: list[list[DraftArg]]
    methods: list[DraftFunction]
    properties: list[tuple[str, dict[str, object]]]


def draft_c(paths: list[Path], language: str) -> tuple[list[DraftFunction], list[DraftClass], dict[str, str]]:
    """Functions, classes and exception classes declared in C or C++ files."""
    from clang.cindex import AccessSpecifier, CursorKind, Index

    index = Index.create()
    wanted = {str(p.resolve()) for p in paths}
    functions: list[DraftFunction] = []
    classes: list[DraftClass] = []
    exceptions: dict[str, str] = {}

    def in_files(c) -> bool:
        return c.location.file is not None and str(Path(c.location.file.name).resolve()) in wanted

    def function(c, owner: str | None = None) -> DraftFunction:
        params = list(c.get_arguments())
        ints = [a.spelling for a in params if _C_SCALARS.get(a.type.get_canonical().spelling, "").startswith(
            ("int", "uint")) and a.type.get_canonical().spelling not in ("char", "unsigned char", "signed char")]
        args = []
        for a in params:
            fields, todos = _c_type(a.type, a.spelling, ints)
            name = a.spelling or f"arg{len(args)}"
            if keyword.iskeyword(name):  # C may name a parameter `in` or `from`; the binding passes by position
                name, todos = f"{name}_", [*todos, f"renamed from {name!r}, a Python keyword"]
            args.append(DraftArg(name, fields, todos))
        _tie_lengths(args)
        result = None
        errors_from = None
        rt = c.result_type
        if rt.spelling != "void":
            fields, _ = _c_type(rt, "result", [])
            fields.pop("intent", None)
            if fields.get("shape") and not str(fields.get("ctype", "")).startswith("std::vector"):
                # a pointer result: its extent is unknown to anyone but the documentation
                fields = {"dtype": "object", "ctype": rt.spelling}
            result = fields
            if fields.get("dtype") == "int32" and owner is None and language == "c":
                errors_from = "return"
        symbol = _qualified(c) if owner is None and "::" in _qualified(c) else None
        fn = DraftFunction(c.spelling, symbol, args, result, errors_from)
        if language == "c":  # C has no classes to bind: a struct pointer, handle or va_list cannot come from Python
            opaque = [(a.name, a.fields["ctype"]) for a in args if a.fields.get("dtype") == "object"]
            if result and result.get("dtype") == "object":
                opaque.append(("its result", result["ctype"]))
            if c.type.is_function_variadic():
                opaque.append(("...", "variadic arguments"))
            if opaque:
                fn.skip = "; ".join(f"{n} is {t}" for n, t in opaque)
        return fn

    def visit(cursor) -> None:
        for c in cursor.get_children():
            if c.kind == CursorKind.NAMESPACE:
                visit(c)
            elif not in_files(c):
                continue
            elif c.kind == CursorKind.FUNCTION_DECL and c.spelling not in {f.name for f in functions}:
                functions.append(function(c))
            elif c.kind in (CursorKind.CLASS_DECL, CursorKind.STRUCT_DECL) and c.is_definition() and language == "cpp":
                bases = [b.type.spelling for b in c.get_children() if b.kind == CursorKind.CXX_BASE_SPECIFIER]
                if any(re.search(r"std::(\w+_error|exception|logic_error|runtime_error)", b) for b in bases):
                    exceptions[_qualified(c)] = c.spelling if c.spelling.endswith("Error") else f"{c.spelling}Error"
                    continue
                public = [m for m in c.get_children() if m.access_specifier == AccessSpecifier.PUBLIC]
                ctors = [m for m in public if m.kind == CursorKind.CONSTRUCTOR and not m.is_copy_constructor()
                         and not m.is_move_constructor()]
                methods = [m for m in public if m.kind == CursorKind.CXX_METHOD and not m.spelling.startswith("operator")]
                setters = {m.spelling[4:]: m for m in methods if m.spelling.startswith("set_")}
                props: list[tuple[str, dict[str, object]]] = []
                plain: list[DraftFunction] = []
                for m in methods:
                    name = m.spelling
                    if name in setters and not list(m.get_arguments()) and m.is_const_method():
                        fields, _ = _c_type(m.result_type, name, [])
                        if fields.get("dtype") not in ("object",) and "shape" not in fields:
                            props.append((name, {"dtype": fields["dtype"], "getter": name, "setter": f"set_{name}"}))
                            continue
                    if name.startswith("set_") and name[4:] in {p[0] for p in props}:
                        continue
                    plain.append(function(m, owner=c.spelling))
                plain = [f for f in plain if not (f.name.startswith("set_") and f.name[4:] in {p[0] for p in props})]
                for f in [f for f in public if f.kind == CursorKind.FIELD_DECL]:
                    fields, _ = _c_type(f.type, f.spelling, [])
                    if "shape" not in fields and fields.get("dtype") != "object":
                        props.append((f.spelling, {"dtype": fields["dtype"]}))
                constructors = []
                for ctor in ctors:
                    ints = []
                    constructors.append([DraftArg(a.spelling, *_c_type(a.type, a.spelling, ints))
                                         for a in ctor.get_arguments()])
                classes.append(DraftClass(c.spelling, _qualified(c), constructors, plain, props))

    from clang.cindex import TranslationUnit

    for p in paths:
        tu = index.parse(str(p), args=_clang_args(language),
                         options=TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD)  # keeps #defines
        errors = [d for d in tu.diagnostics if d.severity >= 3]
        if errors:
            d = errors[0]
            raise SpecError([SpecIssue(str(d.location.file or p), d.location.line, d.location.column, "",
                                       f"cannot parse: {d.spelling}")])
        visit(tu.cursor)
        codes = _error_macros(tu.cursor, in_files)
        for fn in functions:
            if fn.errors_from == "return":
                fn.codes.update(codes)
    return functions, classes, exceptions


def _error_macros(root, in_files) -> dict[str, int]:
    """`#define NAME_ERROR (-5)` in the drafted files: negative integer constants are, in C APIs, error codes."""
    from clang.cindex import CursorKind

    found: dict[str, int] = {}
    for c in root.get_children():
        if c.kind != CursorKind.MACRO_DEFINITION or not in_files(c):
            continue
        text = "".join(t.spelling for t in list(c.get_tokens())[1:])
        m = re.fullmatch(r"\(?(-\d+)\)?", text)
        if m:
            found[c.spelling] = int(m.group(1))
    return found


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
    out = Path(output)
    lib_name = name or re.sub(r"\W", "_", paths[0].stem)
    if not name and (lib_name in sys.stdlib_module_names or lib_name in ("wrapgen", "numpy", "bytes")
                     or keyword.iskeyword(lib_name) or not lib_name.isidentifier()):
        lib_name = f"{lib_name}_wrapped"  # zlib.h must not make a module that hides the standard zlib
    origin = ", ".join(str(p) for p in paths)

    def rel(ps: list[Path]) -> list[str]:
        return [os.path.relpath(p.resolve(), out.resolve().parent) for p in ps]

    if kinds == {"fortran"}:
        functions = draft_fortran(paths)
        if not functions:
            raise SpecError([SpecIssue(str(paths[0]), 0, 0, "", "no subroutines or functions found")])
        text = render(lib_name, "fortran", rel(paths), functions, origin)
    elif kinds <= {"c", "cpp"}:
        language = "cpp" if "cpp" in kinds else "c"
        headers = [p for p in paths if p.suffix.lower() in (".h", ".hpp", ".hh")]
        sources = [p for p in paths if p not in headers]
        functions, classes, exceptions = draft_c(headers or sources, language)
        if not functions and not classes:
            raise SpecError([SpecIssue(str(paths[0]), 0, 0, "", "no functions or classes found")])
        text = render(lib_name, language, rel(sources), functions, origin, rel(headers), classes, exceptions)
    else:
        raise SpecError([SpecIssue(str(paths[0]), 0, 0, "", "mixed Fortran and C/C++ sources: draft one spec each")])
    out.write_text(text)
    return text
