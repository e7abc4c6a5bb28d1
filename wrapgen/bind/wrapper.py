"""Spec model -> the Python module users import: signatures, docstrings, status codes, and a .pyi stub."""

from __future__ import annotations

import json

from ..spec.model import Arg, Callback, Function, Library
from ..spec.exceptions import builtin_exception
from .pyf import extension_attribute

PY_TYPES = {"int32": "int", "int64": "int", "float32": "float", "float64": "float", "complex64": "complex",
            "complex128": "complex", "bool": "bool", "string": "str"}


def python_params(fn: Function) -> tuple[list[str], list[str]]:
    """(required, optional) Python parameter names: the in/inout args, defaults last."""
    visible = [n for n, a in fn.args.items() if a.intent in ("in", "inout")]
    return [n for n in visible if fn.args[n].default is None], [n for n in visible if fn.args[n].default is not None]


def python_returns(fn: Function) -> list[str]:
    """Names of what the Python function returns: the result, then out args except the status."""
    status = fn.errors.source if fn.errors else None
    outs = [n for n, a in fn.args.items() if a.intent == "out" and n != status]
    return (["result"] if fn.result is not None and status != "return" else []) + outs


def output_names(fn: Function) -> list[str]:
    """Everything a call gives that can be kept: the returns, then the inout args (changed in place)."""
    req, opt = python_params(fn)
    return python_returns(fn) + [n for n in req + opt if fn.args[n].intent == "inout"]


def _extension_returns(fn: Function) -> list[str]:
    # What the f2py function returns: the result, then every intent(out) arg in order.
    return (["_result"] if fn.result is not None else []) + [n for n, a in fn.args.items() if a.intent == "out"]


def _describe(name: str, arg: Arg) -> str:
    kind = f"{arg.dtype} array of shape ({', '.join(map(str, arg.shape))}), order {arg.order}" if arg.is_array \
        else arg.dtype
    extra = []
    if arg.intent == "inout":
        extra.append("modified in place; no copy is ever made" if arg.is_array else "in/out")
    elif arg.is_array and arg.convert == "error":
        extra.append("must match exactly: no silent copy")
    if arg.range is not None:
        extra.append(f"range [{arg.range.min if arg.range.min is not None else '-inf'}, "
                     f"{arg.range.max if arg.range.max is not None else 'inf'}]")
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
    computed = [n for n, a in fn.args.items() if a.intent in ("hide", "work")]
    if computed:
        lines += ["Computed for you: " + ", ".join(
            f"{n} = {fn.args[n].value}" if fn.args[n].intent == "hide" else f"{n} (work array)" for n in computed), ""]
    if fn.errors:
        lines += ["Raises", "------"]
        for c in fn.errors.codes:
            lines.append(f"{c.exception}\n    when {fn.errors.source} {c.code if isinstance(c.code, str) else '== ' + str(c.code)}: {c.message}")
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
           f"__all__ = {sorted([*lib.functions, *new_classes, *from_ext])!r}", ""]
    for cls in new_classes:
        out += ["", f"class {cls}(_rt.KernelError):", f'    """Declared by the {lib.name} spec for a kernel error code."""', ""]
    for fname, fn in lib.functions.items():
        out += ["", *_function_source(lib, fname, fn)]
    return "\n".join(out) + "\n"


def declared_classes(lib: Library) -> list[str]:
    """Exception names in the error tables that the generated module must define itself."""
    return sorted({c.exception for fn in lib.functions.values() if fn.errors for c in fn.errors.codes
                   if "." not in c.exception and not builtin_exception(c.exception)} - set(extension_exceptions(lib)))


def extension_exceptions(lib: Library) -> list[str]:
    """New exception classes that a C++ extension creates itself (from the spec's exceptions table)."""
    return [n for n in lib.exceptions.values() if "." not in n and not builtin_exception(n)]


def _function_source(lib: Library, fname: str, fn: Function) -> list[str]:
    req, opt = python_params(fn)
    params = req + [f"{o}={fn.args[o].default!r}" for o in opt]
    call_args = req + [f"{o}={o}" for o in opt]
    ext_rets = _extension_returns(fn)
    rets = python_returns(fn)
    status = fn.errors.source if fn.errors else None
    symbol = _ext_attribute(lib, fname, fn)
    spec_json = json.dumps(fn.model_dump(mode="json", by_alias=True))
    out = [f"_spec_{fname} = {spec_json!r}  # parsed only to explain a refused argument",
           f"_f_{fname} = _ext.{symbol}  # a module global is one lookup cheaper per call than _ext.{symbol}"]
    if fn.errors:
        rows = ", ".join(f"({c.code!r}, _rt.resolve_exception({c.exception!r}, globals()), {c.message!r})"
                         for c in fn.errors.codes)
        out.append(f"_codes_{fname} = [{rows}]")
    if not fn.threadsafe:
        out.append(f"_lock_{fname} = _threading.Lock()  # the spec says the kernel is not thread-safe")
    for cname, cb in fn.callbacks.items():
        out.append(f"_cbmeta_{fname}_{cname} = {callback_meta(cb)!r}")
    out += ["", "", f"def {fname}({', '.join(params)}):", f"    {docstring(lib, fname, fn) + '    '!r}"]
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
    if fn.callbacks:
        out.append("    _cb_errors = []")
    for cname, cb in fn.callbacks.items():
        params = ", ".join(callback_meta(cb)["params"])
        out += [f"    _cbh_{cname} = _rt.callback_adapter({fname!r}, {cname!r}, _cbmeta_{fname}_{cname}, {cname}, "
                f"_cb_errors)",
                # f2py passes as many arguments as the callable's signature names, so spell them out.
                f"    def _cb_{cname}({params}):",
                f"        return _cbh_{cname}({params})"]
        call_args = [f"_cb_{cname}" if a == cname else a for a in call_args]
    call = f"_f_{fname}({', '.join(call_args)})"
    body = [f"{', '.join(ext_rets)} = {call}" if ext_rets else call]  # f2py returns a bare value for one output
    if not fn.threadsafe:
        body = [f"with _lock_{fname}:"] + [f"    {b}" for b in body]
    out += ["    try:"] + [f"        {b}" for b in body] + [
        "    except (ValueError, TypeError, _ext_error) as exc:",
        f"        raise _rt.diagnose({fname!r}, _spec_{fname}, {given}, exc) from None"]
    if fn.callbacks:
        out.append(f"    _rt.raise_callback_error({fname!r}, _cb_errors, "
                   f"{any(cb.abort is not None for cb in fn.callbacks.values())!r})")
    if status:
        scalars = "{" + ", ".join(f"{n!r}: {n}" for n in req + opt if fn.args[n].shape is None) + "}"
        src = "_result" if status == "return" else status
        out += [f"    if {src}:",
                f"        raise (_rt.status_error({fname!r}, _codes_{fname}, {src}, {scalars})",
                f"               or _rt.unexpected_status({fname!r}, {status!r}, {src}))"]
    if rets:
        vals = ["_result" if r == "result" else r for r in rets]
        out.append(f"    return {vals[0] if len(vals) == 1 else '(' + ', '.join(vals) + ')'}")
    return out


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
           "from wrapgen.bind.runtime import KernelError", ""]
    out += [f"class {c}(KernelError): ..." for c in [*declared_classes(lib), *extension_exceptions(lib)]]
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
        rets = [_annot(fn.result if r == "result" else fn.args[r]) for r in python_returns(fn)]  # type: ignore[arg-type]
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
