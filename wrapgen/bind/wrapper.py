"""Spec model -> the Python module users import: signatures, docstrings, status codes, and a .pyi stub."""

from __future__ import annotations

import json

from ..spec import expr
from ..spec.codes import matches
from ..spec.model import INTEGER_BOUNDS, INTEGER_DTYPES, NUMERIC_DTYPES, Arg, Callback, Function, Library
from ..spec.exceptions import builtin_exception
from .pyf import extension_attribute

PY_TYPES = {**{d: "int" for d in INTEGER_DTYPES}, "float32": "float", "float64": "float", "complex64": "complex",
            "complex128": "complex", "bool": "bool", "string": "str"}


def computed(arg: Arg) -> bool:
    """An inout scalar whose value going in the spec computes ('value: size(buf)'): not a Python parameter."""
    return arg.intent == "inout" and arg.value is not None and not arg.is_array


def python_params(fn: Function) -> tuple[list[str], list[str]]:
    """(required, optional) Python parameter names: the in/inout args, defaults last."""
    visible = [n for n, a in fn.args.items() if a.intent in ("in", "inout") and not computed(a)]
    return [n for n in visible if fn.args[n].default is None], [n for n in visible if fn.args[n].default is not None]


def extension_params(fn: Function) -> tuple[list[str], list[str]]:
    """(required, optional) parameters of the compiled function: the Python ones and the computed inout scalars."""
    req, opt = python_params(fn)
    return [n for n, a in fn.args.items() if n in req or computed(a)], opt


def returned_args(fn: Function) -> list[str]:
    """Arguments the kernel hands back: intent out, and inout scalars (an array is changed in place instead)."""
    return [n for n, a in fn.args.items() if a.intent == "out" or (a.intent == "inout" and not a.is_array)]


def python_returns(fn: Function) -> list[str]:
    """Names of what the Python function returns: the result, the out args and inout scalars in their order, and
    last the status when its table names successes (else the status is not returned)."""
    status = fn.errors.source if fn.errors else None
    keep = fn.errors is not None and fn.errors.returns_status
    outs = [n for n in returned_args(fn) if n != status]
    result = ["result"] if fn.result is not None and (status != "return" or keep) else []
    return result + outs + ([status] if keep and status != "return" else [])  # type: ignore[list-item]


def output_names(fn: Function) -> list[str]:
    """Everything a call gives that can be kept: the returns, then the inout arrays (changed in place)."""
    req, opt = python_params(fn)
    return python_returns(fn) + [n for n in req + opt if fn.args[n].intent == "inout" and fn.args[n].is_array]


def _extension_returns(fn: Function) -> list[str]:
    # What the compiled function returns (f2py's convention, kept by the pybind11 code): the result, then every
    # returned arg in order.
    return (["_result"] if fn.result is not None else []) + returned_args(fn)


def _describe(name: str, arg: Arg) -> str:
    kind = f"{arg.dtype} array of shape ({', '.join(map(str, arg.shape))}), order {arg.order}" if arg.is_array \
        else arg.dtype
    extra = []
    if arg.intent == "inout":
        extra.append("modified in place; no copy is ever made" if arg.is_array else "in/out: its new value is returned")
    elif arg.is_array and arg.convert == "error":
        extra.append("must match exactly: no silent copy")
    if arg.range is not None:
        extra.append(f"range [{arg.range.min if arg.range.min is not None else '-inf'}, "
                     f"{arg.range.max if arg.range.max is not None else 'inf'}]")
    if arg.limit is not None:
        extra.append(f"at most {arg.limit}")
    if arg.units:
        extra.append(f"units {arg.units}")
    if arg.default is not None:
        extra.append(f"default {arg.default!r}")
    line = f"{name} : {kind}" + (f" ({'; '.join(extra)})" if extra else "")
    return line + (f"\n    {arg.doc}" if arg.doc else "")


def docstring(lib: Library, fname: str, fn: Function) -> str:
    """Signature, arguments with dtypes/shapes/units/ranges, returns and raises."""
    req, opt = python_params(fn)
    rets = python_returns(fn)
    lines = [f"{fname}({', '.join(req + [f'{o}={fn.args[o].default!r}' for o in opt])})"
             f"{' -> ' + ', '.join(rets) if rets else ''}", ""]
    if fn.doc:
        lines += [fn.doc, ""]
    if req or opt:
        described = []
        for n in req + opt:
            if n in fn.callbacks:
                meta = callback_meta(fn.callbacks[n])
                cb_returns = ", ".join(meta["user_returns"]) or "None"
                described.append(f"{n} : callable, called as {n}({', '.join(meta['user'])}) -> {cb_returns}"
                                 + (f"\n    {fn.args[n].doc}" if fn.args[n].doc else "")
                                 + ("\n    if it raises, the computation is stopped and the exception re-raised"
                                    if fn.callbacks[n].abort else ""))
            else:
                described.append(_describe(n, fn.args[n]))
        lines += ["Parameters", "----------"] + described + [""]
    if rets:
        lines += ["Returns", "-------"]
        for r in rets:
            lines.append(_describe(r, fn.result if r == "result" else fn.args[r]))  # type: ignore[arg-type]
        lines.append("")
    hidden = [n for n, a in fn.args.items() if a.intent in ("hide", "work") or computed(a)]
    if hidden:
        lines += ["Computed for you: " + ", ".join(
            f"{n} = {fn.args[n].value}" if fn.args[n].value is not None else f"{n} (work array)" for n in hidden), ""]
    if fn.errors:
        when = {id(c): f"when {fn.errors.source} {c.code if isinstance(c.code, str) else '== ' + str(c.code)}"
                for c in fn.errors.codes}
        for title, outcome in (("Raises", "error"), ("Warns", "warning"), ("Succeeds", "ok")):
            rows = [c for c in fn.errors.codes if c.outcome == outcome]
            if rows:
                lines += [title, "-" * len(title)]
                for c in rows:
                    head = c.ok if outcome == "ok" else c.warning if outcome == "warning" else c.raises
                    lines.append(f"{head}\n    {when[id(c)]}{': ' + c.message if c.message else ''}")
                lines.append("")
    lines.append(f"Wraps the {lib.language} routine {fn.symbol or fname} from library {lib.name} {lib.version}; "
                 f"the GIL is released during the call.")
    return "\n".join(lines).rstrip() + "\n"


def _ext_attribute(lib: Library, fname: str, fn: Function) -> str:
    # f2py names routines after their Fortran symbol (module.routine); the pybind11 module uses fname.
    return extension_attribute(fname, fn) if lib.language == "fortran" else fname


def module_source(lib: Library, extension: str, spec_file: str) -> str:
    """The generated module's source."""
    new_classes = declared_classes(lib)
    from_ext = [*lib.classes, *extension_exceptions(lib)]
    # Spec text reaches generated code only as repr() literals: a doc holding """ or a backslash is data.
    module_doc = f"{lib.name} {lib.version}: {lib.doc or 'wrapped by wrapgen'}\n\nGenerated by wrapgen from " \
                 f"{spec_file}; do not edit.\n"
    out = [repr(module_doc), "",
           "import threading as _threading", "",
           "_wrapgen_built = True  # wrapgen.load may replace this module by a newer build of the same spec", "",
           "from wrapgen.bind import runtime as _rt", "",
           f"from . import {extension} as _ext", "",
           "# f2py's own error class (a failed check()); its name has changed between numpy versions.",
           f"_ext_error = next((getattr(_ext, _n) for _n in ({'_' + extension + '_error'!r}, {extension + '_error'!r}, "
           f"'error') if hasattr(_ext, _n)), ValueError)", "",
           *([f"from .{extension} import {', '.join(from_ext)}  # C++ classes and exceptions, used directly", ""]
             if from_ext else []),
           f"__all__ = {sorted([*lib.functions, *new_classes, *declared_warnings(lib), *from_ext])!r}", ""]
    converted = {a.dtype for fn in lib.functions.values() for a in fn.args.values()
                 if a.is_array and a.intent == "in" and a.dtype in NUMERIC_DTYPES}
    converted |= {a.dtype for fn in lib.functions.values() for cb in fn.callbacks.values()
                  for a in [*cb.args.values(), *([cb.result] if cb.result else [])] if a.is_array}
    out += ["_ndarray = _rt.ndarray  # one global lookup on the fast path"]
    out += [f"_dt_{d} = _rt.DTYPES[{d!r}]  # tested by identity on the fast path" for d in sorted(converted)]
    # One class per name in the process: the same objects as an isolated call's and a service client's.
    out += [f"{cls} = _rt.declared_class({lib.name!r}, {cls!r})" for cls in new_classes]
    out += [f"{cls} = _rt.declared_class({lib.name!r}, {cls!r}, warning=True)" for cls in declared_warnings(lib)]
    for fname, fn in lib.functions.items():
        out += ["", *_function_source(lib, fname, fn)]
    return "\n".join(out) + "\n"


def declared_classes(lib: Library) -> list[str]:
    """Exception names in the error tables that the generated module must define itself."""
    return sorted({c.exception for fn in lib.functions.values() if fn.errors for c in fn.errors.codes
                   if c.exception and "." not in c.exception and not builtin_exception(c.exception)}
                  - set(extension_exceptions(lib)))


def declared_warnings(lib: Library) -> list[str]:
    """Warning names in the status tables that the generated module must define itself."""
    return sorted({c.warning for fn in lib.functions.values() if fn.errors for c in fn.errors.codes
                   if c.warning and "." not in c.warning and not builtin_exception(c.warning)})


def extension_exceptions(lib: Library) -> list[str]:
    """New exception classes that a C++ extension creates itself (from the spec's exceptions table)."""
    return [n for n in lib.exceptions.values() if "." not in n and not builtin_exception(n)]


def _function_source(lib: Library, fname: str, fn: Function) -> list[str]:
    req, opt = python_params(fn)
    ext_req, _ = extension_params(fn)
    params = req + [f"{o}={fn.args[o].default!r}" for o in opt]
    call_args = ext_req + [f"{o}={o}" for o in opt]  # by position where possible: keywords cost in pybind11
    ext_rets = _extension_returns(fn)
    rets = python_returns(fn)
    status = fn.errors.source if fn.errors else None
    symbol = _ext_attribute(lib, fname, fn)
    spec_json = json.dumps(fn.model_dump(mode="json", by_alias=True))
    out = [f"_spec_{fname} = {spec_json!r}  # parsed only to explain a refused argument",
           f"_f_{fname} = _ext.{symbol}  # a module global is one lookup cheaper per call than _ext.{symbol}"]
    if fn.errors:
        out.append(f"_codes_{fname} = [{', '.join(_status_row(c) for c in fn.errors.codes)}]")
    if not fn.threadsafe:
        out.append(f"_lock_{fname} = _threading.Lock()  # the spec says the kernel is not thread-safe")
    for cname, cb in fn.callbacks.items():
        out.append(f"_cbmeta_{fname}_{cname} = {callback_meta(cb)!r}")
    out += ["", "", f"def {fname}({', '.join(params)}):", f"    {docstring(lib, fname, fn) + '    '!r}"]
    out += _conversions(fname, fn, req + opt, native_bytes=lib.language != "fortran")
    for name in req + opt:
        r = fn.args[name].range
        if r is not None:
            out.append(f"    _rt.check_range({fname!r}, {name!r}, {name}, {r.min!r}, {r.max!r})")
    # f2py lets a lower-rank array stand for a higher-rank argument ((n,) as (n, 1)); a spec's rank is exact.
    given = "{" + ", ".join(f"{n!r}: {n}" for n in req + opt) + "}"
    for name in req + opt:
        arg = fn.args[name]
        if arg.shape is not None and len(arg.shape) > 1:
            out += [f"    if getattr({name}, 'ndim', {len(arg.shape)}) != {len(arg.shape)}:",
                    f"        raise _rt.diagnose({fname!r}, _spec_{fname}, {given}, "
                    f"ValueError({f'argument {name!r} has the wrong rank'!r}))"]
    for name, arg in fn.args.items():  # lengths going in that the spec computes, then lengths the caller gave
        if computed(arg):
            out.append(f"    {name} = {_py_expr(arg.value)}")
    for name in req + opt:
        arg = fn.args[name]
        if arg.limit is not None:
            out.append(f"    _rt.check_limit({fname!r}, {name!r}, {name}, {_py_expr(arg.limit)}, {str(arg.limit)!r})")
    if fn.callbacks:
        out.append("    _cb_errors = []")
    for cname, cb in fn.callbacks.items():
        out += _callback_source(fname, cname, cb)
        call_args = [f"_cb_{cname}" if a == cname else a for a in call_args]
    call = f"_f_{fname}({', '.join(call_args)})"
    body = [f"{', '.join(ext_rets)} = {call}" if ext_rets else call]  # one output comes back bare, not as a tuple
    if not fn.threadsafe:
        body = [f"with _lock_{fname}:"] + [f"    {b}" for b in body]
    out += ["    try:"] + [f"        {b}" for b in body] + [
        "    except (ValueError, TypeError, _ext_error) as exc:",
        f"        raise _rt.diagnose({fname!r}, _spec_{fname}, {given}, exc) from None"]
    if fn.callbacks:
        out.append(f"    _rt.raise_callback_error({fname!r}, _cb_errors, "
                   f"{any(cb.abort is not None for cb in fn.callbacks.values())!r})")
    if status and fn.errors:
        scalars = "{" + ", ".join(f"{n!r}: {n}" for n in req + opt if fn.args[n].shape is None) + "}"
        src = "_result" if status == "return" else status
        check = f"{src} = _rt.check_status({fname!r}, {status!r}, _codes_{fname}, {src}, {scalars})"
        if fn.errors.returns_status or any(matches(c.code, 0) for c in fn.errors.codes):
            out.append(f"    {check}")
        else:  # 0 is a plain success: one truth test on the fast path
            out += [f"    if {src}:", f"        {check}"]
    if rets:
        vals = ["_result" if r == "result" else r for r in rets]
        out.append(f"    return {vals[0] if len(vals) == 1 else '(' + ', '.join(vals) + ')'}")
    return out


def _callback_source(fname: str, cname: str, cb: Callback) -> list[str]:
    """The function f2py calls back, written out for this callback's signature: the user's callable, what it
    returned checked (count, dtype without a value change, shape) in a few inline tests, and on any failure the
    abort protocol (the runtime's stopper, which also answers every later call until the kernel returns)."""
    meta = callback_meta(cb)
    params = ", ".join(meta["params"])  # f2py passes as many arguments as the signature names: spell them out
    values = "{" + ", ".join(f"{p!r}: {p}" for p in meta["params"]) + "}"
    user_returns = meta["user_returns"]
    local = {r: "_ret" if r == "return" else f"_r_{r}" for r in meta["returns"]}
    body = [f"_got = _cbu_{cname}({', '.join(meta['user'])})"]
    if len(user_returns) == 1:
        body.append(f"{local[user_returns[0]]} = _got")
    elif user_returns:
        body += [f"if type(_got) is not tuple or len(_got) != {len(user_returns)}:",
                 f"    raise TypeError({f'{fname}(): callback {cname!r} must return {len(user_returns)} values ('!r} "
                 f"+ {', '.join(user_returns)!r} + '), got ' + _rt.count_of(_got))",
                 f"{', '.join(local[r] for r in user_returns)}, = _got"]
    for r in user_returns:
        arg = cb.result if r == "return" else cb.args[r]
        v, shown = local[r], "its result" if r == "return" else r
        what = f"{fname}(): the value {shown} returned by callback {cname!r}"
        if arg.is_array:
            want = "(" + "".join(f"{_py_expr(i)}, " for i in arg.shape) + ")"
            body += [f"if type({v}) is not _ndarray or {v}.dtype is not _dt_{arg.dtype}:",
                     f"    {v} = _rt.exact({fname!r}, {r!r}, {v}, {arg.dtype!r}, what={what!r})",
                     f"if {v}.shape != {want}:",
                     f"    raise ValueError({f'{fname}(): callback {cname!r} returned {shown} of shape '!r} + "
                     f"str({v}.shape) + ', expected ' + str({want}))"]
        elif arg.dtype in INTEGER_DTYPES:
            low, high = INTEGER_BOUNDS[arg.dtype]
            body += [f"if type({v}) is not int or not {low} <= {v} <= {high}:",
                     f"    {v} = _rt.exact_integer({fname!r}, {r!r}, {v}, {arg.dtype!r}, {low}, {high}, what={what!r})"]
        elif arg.dtype in ("float32", "float64"):
            body += [f"if type({v}) is not float:", f"    {v} = _rt.real_number({v}, what={what!r})"]
    outs = [local[r] if r in user_returns else r for r in meta["returns"]]
    body.append(f"return {', '.join(outs)}" if outs else "return None")
    return [f"    _cbstop_{cname} = _rt.callback_stopper({fname!r}, {cname!r}, _cbmeta_{fname}_{cname}, {cname})",
            f"    _cbu_{cname} = {cname}  # the callback's own argument names must not hide the user's callable",
            f"    def _cb_{cname}({params}):",
            "        if _cb_errors:  # a call-back failed: the kernel is being stopped",
            f"            return _cbstop_{cname}({values})",
            "        try:", *(f"            {b}" for b in body),
            "        except BaseException as exc:  # noqa: BLE001 - re-raised once the kernel has returned",
            "            _cb_errors.append(exc)",
            f"            return _cbstop_{cname}({values})"]


def _status_row(c) -> str:
    if c.outcome == "ok":
        return f"({c.code!r}, 'ok', {c.ok!r}, '')"
    name = c.warning if c.outcome == "warning" else c.raises
    return f"({c.code!r}, {c.outcome!r}, _rt.resolve_exception({name!r}, globals()), {c.message!r})"


def _conversions(fname: str, fn: Function, names: list[str], native_bytes: bool = False) -> list[str]:
    """Inline checks that cost one type test when the caller passes what the kernel takes, and otherwise call the
    runtime, which converts only when no value changes (an int32 scalar of 40.9 or 2**40 is refused).
    native_bytes: the extension takes bytes and bytearray for uint8 arrays itself (pybind11 code does)."""
    out = []
    for name in names:
        arg = fn.args[name]
        passes = f" and type({name}) is not bytes and type({name}) is not bytearray" \
            if native_bytes and arg.dtype == "uint8" else ""
        if arg.is_array and arg.intent == "in" and arg.convert != "error" and arg.dtype in NUMERIC_DTYPES:
            out += [f"    if (type({name}) is not _ndarray or {name}.dtype is not _dt_{arg.dtype}){passes}:",
                    f"        {name} = _rt.exact({fname!r}, {name!r}, {name}, {arg.dtype!r})"]
        elif arg.is_array and arg.dtype in NUMERIC_DTYPES:  # used in place: bytearray/memoryview as the same memory
            out += [f"    if type({name}) is not _ndarray{passes}:", f"        {name} = _rt.as_buffer({name})"]
        elif not arg.is_array and arg.dtype in INTEGER_DTYPES:
            low, high = INTEGER_BOUNDS[arg.dtype]
            out += [f"    if type({name}) is not int or not {low} <= {name} <= {high}:",
                    f"        {name} = _rt.exact_integer({fname!r}, {name!r}, {name}, {arg.dtype!r}, {low}, {high})"]
    return out


class _PyEmitter(expr.InfixEmitter):
    """A spec expression as Python over the call's arguments (arrays may still be lists: np.shape reads both)."""

    def extent(self, array: str, dim: int) -> str:
        return f"_rt.extent({array}, {dim})"

    def size(self, array: str) -> str:
        return f"_rt.size({array})"

    def fold(self, function: str, left: str, right: str) -> str:
        return f"{function}({left}, {right})"


def _py_expr(text: int | str) -> str:
    return _PyEmitter().visit(expr.parse(text).tree)


def callback_meta(cb: Callback) -> dict:
    """Plain data the runtime adapter needs (generated, so no spec parsing at call time)."""
    abort_flag = cb.abort.set if cb.abort is not None and cb.abort.set else None
    params = [n for n, a in cb.args.items() if a.intent in ("in", "hide", "inout")]  # f2py passes these
    returns = (["return"] if cb.result is not None else []) + \
        [n for n, a in cb.args.items() if a.intent in ("out", "inout")]
    abort = None
    if cb.abort is not None:
        abort = (cb.abort.set, cb.abort.value) if cb.abort.set else ("return", cb.abort.return_)
    return {
        "params": params,
        "user": [n for n in params if cb.args[n].intent != "hide" and n != abort_flag],
        "returns": returns,
        "user_returns": [r for r in returns if r != abort_flag],
        "shapes": {n: list(a.shape) for n, a in cb.args.items() if a.shape is not None},
        "dtypes": {n: a.dtype for n, a in cb.args.items()},
        "abort": abort,
    }


def stub_source(lib: Library) -> str:
    """A .pyi stub: typed signatures for editors and type checkers."""
    out = ["from typing import overload", "", "import numpy as np", "import numpy.typing as npt",
           "from wrapgen.bind.runtime import KernelError, KernelWarning, Status", ""]
    out += [f"class {c}(KernelError): ..." for c in [*declared_classes(lib), *extension_exceptions(lib)]]
    out += [f"class {c}(KernelWarning): ..." for c in declared_warnings(lib)]
    for cname, cls in lib.classes.items():
        out.append(f"class {cname}:")
        for ctor in cls.constructors:
            fn = Function(args=ctor.args)
            req, opt = python_params(fn)
            params = ["self"] + [f"{n}: {_annot(fn.args[n], lib)}" for n in req] + \
                [f"{n}: {_annot(fn.args[n], lib)} = ..." for n in opt]
            overload = "    @overload\n" if len(cls.constructors) > 1 else ""
            out.append(f"{overload}    def __init__({', '.join(params)}) -> None: ...")
        for mname, method in cls.methods.items():
            req, opt = python_params(method)
            params = ["self"] + [f"{n}: {_annot(method.args[n], lib)}" for n in req] + \
                [f"{n}: {_annot(method.args[n], lib)} = ..." for n in opt]
            ret = _annot(method.result, lib) if method.result is not None else "None"
            out.append(f"    def {mname}({', '.join(params)}) -> {ret}: ...")
        for pname, prop in cls.properties.items():
            t = PY_TYPES.get(prop.dtype, "object")
            out.append(f"    {pname}: {t}" if not prop.readonly and not (prop.getter and not prop.setter)
                       else f"    @property\n    def {pname}(self) -> {t}: ...")
        if not (cls.constructors or cls.methods or cls.properties):
            out.append("    ...")
    for fname, fn in lib.functions.items():
        req, opt = python_params(fn)
        params = [f"{n}: {_annot(fn.args[n])}" for n in req] + [f"{n}: {_annot(fn.args[n])} = ..." for n in opt]
        status = fn.errors.source if fn.errors and fn.errors.returns_status else None
        rets = ["Status | int" if r == status or (r == "result" and status == "return") else
                _annot(fn.result if r == "result" else fn.args[r]) for r in python_returns(fn)]  # type: ignore[arg-type]
        ret = "None" if not rets else rets[0] if len(rets) == 1 else f"tuple[{', '.join(rets)}]"
        out.append(f"def {fname}({', '.join(params)}) -> {ret}: ...")
    return "\n".join(out) + "\n"


def _annot(arg: Arg, lib: Library | None = None) -> str:
    if arg.dtype == "object" and lib is not None:
        named = [c for c, cls in lib.classes.items() if (cls.symbol or c) in (arg.ctype or "")]
        return named[0] if named else "object"
    if arg.is_array:
        return f"npt.NDArray[np.{arg.dtype if arg.dtype != 'bool' else 'bool_'}]"
    return PY_TYPES.get(arg.dtype, "object")
