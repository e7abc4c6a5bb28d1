"""Load a spec file: YAML with positions -> pydantic model -> cross-field checks -> a normalised Library."""

from __future__ import annotations

import keyword
import os
import sys
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pydantic

from . import expr
from .codes import PATTERN
from .errors import SpecError, SpecIssue
from .model import INTEGER_DTYPES, REAL_DTYPES, UNSIGNED_DTYPES, Arg, Function, Library, fits_integer
from .exceptions import problem as exception_problem, warning_problem
from .yamlsource import Located, Path as DataPath, load_located, read_source

__all__ = ["load_spec", "parse_spec", "validate_located"]

M = TypeVar("M", bound=pydantic.BaseModel)

_COMMA_HINT = " (in YAML flow style, [a, b] or {k: v}, a comma splits the text: quote it, e.g. 'shape(a, 0)')"
_KIND = {"int_type": "an integer", "int_parsing": "an integer", "string_type": "a string",
         "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
         "bool_parsing": "true or false", "list_type": "a list", "dict_type": "a mapping",
         "model_type": "a mapping", "model_attributes_type": "a mapping", "none_required": "nothing (null)"}


def load_spec(path: str | os.PathLike[str]) -> Library:
    """Read, validate and normalise a spec file; raises SpecError listing every problem with its position."""
    p = Path(path)
    return parse_spec(read_source(p), str(p), base_dir=p.resolve().parent)


def parse_spec(text: str, file: str = "<spec>", base_dir: Path | None = None) -> Library:
    """Validate spec text; file names it in messages and base_dir resolves relative sources."""
    located, library = validate_located(text, file, Library, "name, language, functions, ...")
    library._base_dir = base_dir
    issues = sorted(_check_library(library, located, base_dir), key=lambda i: (i.line, i.column))
    if issues:
        raise SpecError(issues)
    library._warnings = sorted(_unchecked_extents(library, located), key=lambda i: (i.line, i.column))
    return library


def _unchecked_extents(lib: Library, located: Located) -> Iterator[SpecIssue]:
    """Pointer arguments whose extent the spec does not determine: the kernel learns the size some other way
    (a length argument the caller gives) and nothing checks it, so a wrong length writes past the end.
    Fortran module procedures get assumed-shape descriptors that carry the extents: those are safe."""
    every = [(("functions", f), fn) for f, fn in lib.functions.items()]
    every += [(("classes", c, "methods", m), fn) for c, cls in lib.classes.items() for m, fn in cls.methods.items()]
    for base, fn in every:
        if lib.language == "fortran" and "::" in (fn.symbol or ""):
            continue
        tied: set[str] = set()
        for a in fn.args.values():
            for text in (a.limit, a.value if a.intent in ("inout", "hide") else None):
                if text is not None:
                    try:
                        tied |= expr.parse(text).arrays
                    except expr.ExprError:
                        pass
        for aname, arg in fn.args.items():
            if arg.is_array and expr.ASSUMED in (arg.shape or []) and aname not in tied:
                yield located.issue((*base, "args", aname, "shape"),
                                    f"warning: the extent ':' of {aname!r} is not determined by the spec: the kernel "
                                    f"learns its size some other way and nothing checks it, so a wrong length writes "
                                    f"past the end; give the extent as an expression over the length argument "
                                    f"(shape: [n]) or tie that argument to it (limit: 'size({aname})')")


# ---------------------------------------------------------------- pydantic errors, located


def validate_located(text: str, file: str, model: type[M], keys: str) -> tuple[Located, M]:
    """YAML text as an instance of model (a mapping with keys, as the message for a non-mapping says), and where
    each value stood; SpecError with file:line:column for every problem (pipelines use it too)."""
    located = load_located(text, file)
    if not isinstance(located.data, dict):
        raise SpecError([located.issue((), f"expected a mapping with {keys}")])
    try:
        return located, model.model_validate(located.data)
    except pydantic.ValidationError as exc:
        raise SpecError(_pydantic_issues(exc, located, model)) from None


def _pydantic_issues(exc: pydantic.ValidationError, located: Located,
                     root: type[pydantic.BaseModel]) -> list[SpecIssue]:
    """A pydantic error of the model root over YAML data, as issues at file:line:column."""
    grouped: dict[DataPath, list[dict[str, Any]]] = {}
    for err in exc.errors():
        path = _resolve(err["loc"], located.data, err["type"])
        grouped.setdefault(path, []).append(err)
    issues = []
    for path, errs in grouped.items():
        kind = errs[0]["type"]
        if kind == "extra_forbidden":
            split = path[:-1] in located.flow and _lookup(located.data, path) is None
            hint = _COMMA_HINT if split or _unbalanced(str(path[-1])) else ""
            issues.append(located.issue(path, f"unknown key '{path[-1]}'{_expected_keys(path, root)}{hint}",
                                        key=True))
        elif kind == "missing":
            issues.append(located.issue(path, "required key is missing", key=True))
        else:
            issues.append(located.issue(path, _message(errs)))
    return sorted(issues, key=lambda i: (i.line, i.column))


def _resolve(loc: tuple[Any, ...], data: Any, kind: str) -> DataPath:
    # pydantic appends union member names ('int', 'str', 'function-after[...]') to loc; keep only the
    # part of the path that exists in the data, plus the key itself for a missing key.
    path: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            if kind == "missing" and isinstance(node, dict) and isinstance(part, str):
                path.append(part)
            break
        path.append(part)
    return tuple(path)


def _message(errs: list[dict[str, Any]]) -> str:
    given = errs[0].get("input")
    literal = [e for e in errs if e["type"] == "literal_error"]
    if literal:
        allowed = literal[0]["ctx"]["expected"].replace("'", "").replace(" or ", ", ")
        return f"{given!r} is not one of {allowed}"
    kinds = [_KIND[e["type"]] for e in errs if e["type"] in _KIND]
    if kinds and len(kinds) == len(errs):
        return f"expected {' or '.join(dict.fromkeys(kinds))}, got {_show(given)}"
    msg = errs[0]["msg"]
    return msg.removeprefix("Value error, ")


def _lookup(data: Any, path: DataPath) -> Any:
    for part in path:
        data = data[part]
    return data


def _unbalanced(text: str) -> bool:
    return text.count("(") != text.count(")")


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _expected_keys(path: DataPath, root: type[pydantic.BaseModel]) -> str:
    model = _model_at(path[:-1], root)
    if model is None:
        return ""
    names = [f.alias or name for name, f in model.model_fields.items()]
    return f"; expected one of {', '.join(names)}"


def _model_at(path: DataPath, root: type[pydantic.BaseModel]) -> type[pydantic.BaseModel] | None:
    """The model class that validates the mapping at path (following dict/list/optional annotations)."""
    import typing

    model: Any = root
    i = 0
    while i < len(path):
        part = path[i]
        fields = {(f.alias or n): f for n, f in model.model_fields.items()}
        if part not in fields:
            return None
        ann = fields[part].annotation
        i += 1
        while True:
            origin = typing.get_origin(ann)
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            if origin in (dict, list) and i < len(path):
                ann = args[-1]
                i += 1
            elif origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
                models = [a for a in args if isinstance(a, type) and issubclass(a, pydantic.BaseModel)]
                if not models:
                    return None
                ann = models[0]
            else:
                break
        if not (isinstance(ann, type) and issubclass(ann, pydantic.BaseModel)):
            return None
        model = ann
    return model


# ---------------------------------------------------------------- cross-field checks


def _check_library(lib: Library, located: Located, base_dir: Path | None) -> Iterator[SpecIssue]:
    yield from _identifier(lib.name, ("name",), located, "a module name")
    if lib.name in sys.stdlib_module_names or lib.name in ("wrapgen", "numpy"):
        yield located.issue(("name",), f"{lib.name!r} is the name of a standard or required module; importing the "
                                       "library would replace it: choose another name")
    if not lib.sources and not lib.libraries:
        yield located.issue((), "nothing to build or link: give sources, libraries or both")
    if base_dir is not None:
        for i, src in enumerate(lib.sources):
            if not (base_dir / src).is_file():
                yield located.issue(("sources", i), f"file not found: {base_dir / src}")
    for name, fn in lib.functions.items():
        yield from _identifier(name, ("functions", name), located, "a function name", key=True)
        yield from _check_function(fn, ("functions", name), lib, located)
        if lib.language == "fortran":
            yield from _fortran_dtypes(fn, ("functions", name), located)
    yield from _check_symbols(lib, located)
    for cpp_type, py_name in lib.exceptions.items():
        if lib.language != "cpp":
            yield located.issue(("exceptions", cpp_type), f"exceptions need language cpp, not {lib.language}", key=True)
        if (why := exception_problem(py_name)) is not None:
            yield located.issue(("exceptions", cpp_type), why)
    for cname, cls in lib.classes.items():
        base = ("classes", cname)
        yield from _identifier(cname, base, located, "a class name", key=True)
        if lib.language != "cpp":
            yield located.issue(base, f"classes need language cpp, not {lib.language}", key=True)
        for i, ctor in enumerate(cls.constructors):
            for aname, arg in ctor.args.items():
                _fill_defaults(arg, lib.language)
                yield from _check_arg_alone(aname, arg, (*base, "constructors", i, "args", aname), ctor.args, located)
        for mname, method in cls.methods.items():
            yield from _identifier(mname, (*base, "methods", mname), located, "a method name", key=True)
            yield from _check_function(method, (*base, "methods", mname), lib, located)
        for pname in cls.properties:
            yield from _identifier(pname, (*base, "properties", pname), located, "a property name", key=True)


def _fortran_dtypes(fn: Function, base: DataPath, located: Located) -> Iterator[SpecIssue]:
    """Fortran has no unsigned integers: a uint dtype would hand the kernel values it reads as negative."""
    tables = [((*base, "args"), fn.args)] + [((*base, "callbacks", c, "args"), cb.args) for c, cb in fn.callbacks.items()]
    for path, args in tables:
        for aname, arg in args.items():
            if arg.dtype in UNSIGNED_DTYPES:
                yield located.issue((*path, aname, "dtype"), f"Fortran has no unsigned integers: {arg.dtype} would "
                                    f"reach the kernel as a signed value; use int{arg.dtype[4:]}")
    if fn.result is not None and fn.result.dtype in UNSIGNED_DTYPES:
        yield located.issue((*base, "result", "dtype"), "Fortran has no unsigned integers")


def _check_symbols(lib: Library, located: Located) -> Iterator[SpecIssue]:
    """Two functions bound to one symbol: the generated wrapper would declare it twice and the build would fail
    with a redefinition in generated code (C++ may overload a name, so it is left to the compiler there)."""
    if lib.language == "cpp":
        return
    seen: dict[str, str] = {}
    for name, fn in lib.functions.items():
        symbol = fn.symbol or name
        key = symbol.lower() if lib.language.startswith("fortran") else symbol  # Fortran names have no case
        first = seen.setdefault(key, name)
        if first != name:
            line = located.where(("functions", first), key=True)[0]
            yield located.issue(("functions", name), f"{name} and {first} (line {line}) are both bound to the "
                                f"symbol {symbol!r}; give one of them its own symbol (or drop one)", key=True)


def _identifier(name: str, path: DataPath, located: Located, what: str, key: bool = False) -> Iterator[SpecIssue]:
    if not name.isidentifier() or keyword.iskeyword(name):
        yield located.issue(path, f"{name!r} cannot be {what}: expected a Python identifier that is not a keyword",
                            key=key)


def _fill_defaults(arg: Arg, language: str) -> None:
    if arg.order is None:
        arg.order = "F" if language == "fortran" else "C"
    if arg.convert is None:
        arg.convert = "copy" if arg.intent == "in" else "error"


def _check_function(fn: Function, base: DataPath, lib: Library, located: Located) -> Iterator[SpecIssue]:
    for aname, arg in fn.args.items():
        _fill_defaults(arg, lib.language)
        yield from _identifier(aname, (*base, "args", aname), located, "an argument name", key=True)
        yield from _check_arg_alone(aname, arg, (*base, "args", aname), fn.args, located)
        if arg.dtype == "callback" and aname not in fn.callbacks:
            yield located.issue((*base, "args", aname), f"dtype callback needs an entry callbacks.{aname}")
    yield from _check_hide_cycles(fn, base, located)
    if fn.result is not None:
        if fn.result.dtype == "callback" or fn.result.intent != "in":
            yield located.issue((*base, "result"), "a result has a plain dtype and no intent")
        if fn.result.shape is not None and lib.language != "cpp":
            yield located.issue((*base, "result", "shape"),
                                f"{lib.language} functions return scalars; return arrays through out arguments")
    if fn.errors is not None:
        yield from _check_errors(fn, (*base, "errors"), located)
    for cname, cb in fn.callbacks.items():
        cpath = (*base, "callbacks", cname)
        if cname not in fn.args or fn.args[cname].dtype != "callback":
            yield located.issue(cpath, f"no argument {cname!r} with dtype callback in args", key=True)
        for aname, arg in cb.args.items():
            _fill_defaults(arg, lib.language)
            yield from _check_arg_alone(aname, arg, (*cpath, "args", aname), cb.args, located, in_callback=True)
        if cb.abort is not None:
            a = cb.abort
            if (a.return_ is None) == (a.set is None):
                yield located.issue((*cpath, "abort"), "give either 'return: VALUE' or 'set: ARG' with 'value'")
            elif a.set is not None and (a.set not in cb.args or a.value is None):
                yield located.issue((*cpath, "abort", "set"),
                                    f"'set' must name an argument of the callback ({', '.join(cb.args) or 'none'}) "
                                    "and come with 'value'")


def _check_hide_cycles(fn: Function, base: DataPath, located: Located) -> Iterator[SpecIssue]:
    deps: dict[str, set[str]] = {}
    for name, arg in fn.args.items():
        if arg.intent == "hide" and arg.value is not None:
            try:
                deps[name] = set(expr.parse(arg.value).scalars)
            except expr.ExprError:
                pass  # reported by _check_arg_alone
    reported: set[str] = set()

    def visit(name: str, trail: list[str]) -> Iterator[SpecIssue]:
        if name in trail:
            cycle = trail[trail.index(name):] + [name]
            if not reported & set(cycle):
                reported.update(cycle)
                yield located.issue((*base, "args", cycle[0], "value"),
                                    f"hidden values depend on each other in a cycle: {' -> '.join(cycle)}")
            return
        for dep in deps.get(name, ()):
            yield from visit(dep, [*trail, name])

    for name in deps:
        yield from visit(name, [])


def _check_arg_alone(name: str, arg: Arg, path: DataPath, args: dict[str, Arg], located: Located,
                     in_callback: bool = False) -> Iterator[SpecIssue]:
    """Checks of one argument against its siblings (of a callback: hide means 'not passed to Python')."""
    if arg.dtype == "object" and not arg.ctype:
        yield located.issue((*path, "dtype"), "dtype object needs ctype, the C++ type (e.g. const sim::System &)")
    if arg.dtype == "callback" and (arg.shape is not None or arg.intent != "in"):
        yield located.issue(path, "a callback argument has no shape and intent in")
    if arg.dtype == "string" and arg.shape is not None:
        yield located.issue((*path, "shape"), "string arguments are scalars (give no shape)")
    if arg.intent == "work" and arg.shape is None:
        yield located.issue((*path, "intent"), "a work array needs a shape (its size is computed for the caller)",)
    if arg.intent == "hide" and in_callback:
        if arg.value is not None:
            yield located.issue((*path, "value"), "a callback's hidden argument comes from the legacy code: no value")
    elif arg.intent == "hide":
        if arg.value is None:
            yield located.issue((*path, "intent"), "intent hide needs 'value', the expression that computes it")
        if arg.shape is not None or arg.dtype not in INTEGER_DTYPES:
            yield located.issue((*path, "intent"), "intent hide is for integer scalars (sizes, leading dimensions)")
    elif arg.value is not None and arg.intent == "inout" and not in_callback:
        if arg.shape is not None or arg.dtype not in INTEGER_DTYPES:
            yield located.issue((*path, "value"), "'value' on an inout argument is for integer scalars (an in/out "
                                                  "length such as 'size(buf)')")
        if arg.default is not None:
            yield located.issue((*path, "default"), "an argument with 'value' is computed: no default")
    elif arg.value is not None:
        yield located.issue((*path, "value"), f"'value' is only for intent hide (or an inout length), not {arg.intent}")
    if arg.limit is not None and (arg.shape is not None or arg.dtype not in INTEGER_DTYPES
                                  or arg.intent not in ("in", "inout") or in_callback):
        yield located.issue((*path, "limit"), "'limit' is for integer scalars with intent in or inout (a length or a "
                                              "capacity the caller gives)")
    if arg.default is not None:
        if arg.intent != "in" or arg.shape is not None:
            yield located.issue((*path, "default"), "only scalar inputs (intent in) take a default")
        elif not _fits(arg.default, arg.dtype):
            yield located.issue((*path, "default"), f"{arg.default!r} is not a valid {arg.dtype}")
        elif arg.range is not None and not _in_range(arg.default, arg):
            yield located.issue((*path, "default"), f"{arg.default!r} is outside the range")
    if arg.range is not None and (arg.shape is not None or arg.dtype not in REAL_DTYPES):
        yield located.issue((*path, "range"), "range applies to integer and real scalars")

    expressions: list[tuple[DataPath, Any]] = [((*path, "shape", i), item) for i, item in enumerate(arg.shape or [])
                                               if item != expr.ASSUMED]
    if arg.value is not None:
        expressions.append(((*path, "value"), arg.value))
    if arg.limit is not None:
        expressions.append(((*path, "limit"), arg.limit))
    for epath, text in expressions:
        try:
            e = expr.parse(text)
        except expr.ExprError as exc:
            yield located.issue(epath, str(exc) + (_COMMA_HINT if _unbalanced(str(text)) else ""))
            continue
        for n in sorted(e.scalars):
            other = args.get(n)
            if n == name or other is None:
                yield located.issue(epath, f"{n!r} is not another argument ({', '.join(a for a in args if a != name)})")
            elif other.shape is not None or other.dtype not in INTEGER_DTYPES:
                yield located.issue(epath, f"{n!r} is not an integer scalar argument")
            elif arg.intent in ("out", "work") and other.intent in ("out", "work"):
                yield located.issue(epath, f"{n!r} is intent {other.intent}: it is not known before the call")
        for n in sorted(e.arrays):
            other = args.get(n)
            if other is None or other.shape is None:
                yield located.issue(epath, f"{n!r} is not an array argument")
            elif arg.intent in ("out", "work", "hide") and other.intent in ("out", "work"):
                yield located.issue(epath, f"{n!r} is intent {other.intent}: its shape is not known before the call")


def _fits(value: Any, dtype: str) -> bool:
    if dtype in INTEGER_DTYPES:
        return fits_integer(value, dtype)
    if dtype in ("float32", "float64", "complex64", "complex128"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if dtype == "bool":
        return isinstance(value, bool)
    return dtype == "string" and isinstance(value, str)


def _in_range(value: Any, arg: Arg) -> bool:
    r = arg.range
    assert r is not None
    return (r.min is None or value >= r.min) and (r.max is None or value <= r.max)


def _check_errors(fn: Function, path: DataPath, located: Located) -> Iterator[SpecIssue]:
    errors = fn.errors
    assert errors is not None
    if errors.source == "return":
        if fn.result is None or fn.result.dtype not in INTEGER_DTYPES:
            yield located.issue((*path, "from"), "'return' needs an integer result")
    else:
        status = fn.args.get(errors.source)
        if status is None:
            yield located.issue((*path, "from"), f"{errors.source!r} is not an argument ({', '.join(fn.args)}) "
                                                 "and not 'return'")
        elif status.shape is not None or status.dtype not in INTEGER_DTYPES or status.intent not in ("out", "inout"):
            yield located.issue((*path, "from"), f"{errors.source!r} must be an integer scalar with intent out")
    scalars = {n for n, a in fn.args.items() if a.shape is None and a.dtype != "callback"}
    for i, code in enumerate(errors.codes):
        cpath = (*path, "codes", i)
        if isinstance(code.code, str) and not PATTERN.match(code.code):
            yield located.issue((*cpath, "code"), f"cannot read {code.code!r}; expected an integer, a comparison "
                                                  "such as '<0', '>0', '!=0', '>=2', or a range such as '1..5'")
        given = [k for k in ("exception", "warning", "ok") if getattr(code, k) is not None]
        if len(given) > 1:
            yield located.issue((*cpath, given[1]), f"a code is an exception, a warning or ok: give one of "
                                                    f"{' and '.join(given)}")
        if code.exception is not None and (why := exception_problem(code.exception)) is not None:
            yield located.issue((*cpath, "exception"), why)
        if code.warning is not None and (why := warning_problem(code.warning)) is not None:
            yield located.issue((*cpath, "warning"), why)
        if code.ok is not None and not code.ok.isidentifier():
            yield located.issue((*cpath, "ok"), f"{code.ok!r} is not a name (a status name such as 'converged')")
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(code.message) if f is not None]
        except ValueError as exc:
            yield located.issue((*cpath, "message"), f"bad placeholder: {exc}")
            continue
        for f in fields:
            if f not in ("code", "-code") and f not in scalars:
                yield located.issue((*cpath, "message"),
                                    f"unknown placeholder {{{f}}}; expected {{code}}, {{-code}} or a scalar argument")
