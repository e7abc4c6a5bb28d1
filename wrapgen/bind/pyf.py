"""Spec model -> f2py signature file (.pyf). f2py is used only as a code generator from this file."""

from __future__ import annotations


from ..spec import expr
from ..spec.expr import ASSUMED
from ..spec.model import Arg, Function, Library
from .errors import BindError

FORTRAN_TYPES = {
    "int8": "integer*1", "int16": "integer*2", "int32": "integer*4", "int64": "integer*8", "float32": "real*4", "float64": "real*8",
    "complex64": "complex*8", "complex128": "complex*16", "bool": "logical", "string": "character*(*)",
}


def extension_name(lib: Library) -> str:
    """The compiled module's name; the Python-level module wraps it."""
    return f"_{lib.name}"


def pyf_source(lib: Library, ext: str | None = None) -> str:
    """The f2py signature file for every function of a Fortran library (extension module name ext)."""
    if lib.language != "fortran":
        raise BindError(f"{lib.name}: a .pyf is for Fortran libraries, not {lib.language}")
    name = ext or extension_name(lib)
    lines = [callback_modules(lib, name), f"python module {name}", "  interface"]
    modules: dict[str, list[str]] = {}
    for fname, fn in lib.functions.items():
        module, _ = fortran_symbol(fname, fn)
        if module is None:
            lines += [f"    {line}" for line in _routine(fname, fn, name)]
        else:
            modules.setdefault(module, []).extend(_routine(fname, fn, name))
    for module, body in modules.items():  # F90 module procedures: f2py writes a wrapper that uses the module
        lines += [f"    module {module}", *(f"      {line}" for line in body), f"    end module {module}"]
    lines += ["  end interface", f"end python module {name}", ""]
    return "\n".join(lines)


def fortran_symbol(fname: str, fn: Function) -> tuple[str | None, str]:
    """(module or None, routine) from the spec: `symbol: heat::heat_step`, `dgesv_`, or the function name."""
    symbol = fn.symbol or fname
    module, _, routine = symbol.rpartition("::")
    return (module or None), routine.rstrip("_")


def extension_attribute(fname: str, fn: Function) -> str:
    """Where f2py puts the routine in the extension module: `routine` or `module.routine`."""
    module, routine = fortran_symbol(fname, fn)
    return f"{module}.{routine}" if module else routine


def user_routines_module(ext: str, fname: str) -> str:
    """The f2py module that declares a routine's callback signatures (f2py wants '__user__' in the name)."""
    return f"{ext}_{fname}__user__routines"


def callback_modules(lib: Library, ext: str) -> str:
    """f2py signature blocks for every callback: how the legacy code calls back into Python."""
    out = []
    for fname, fn in lib.functions.items():
        if not fn.callbacks:
            continue
        module = user_routines_module(ext, fname)
        out += [f"python module {module}", "  interface"]
        for cname, cb in fn.callbacks.items():
            fake = Function(args=cb.args)  # the expression helpers work on any argument table
            kind = "function" if cb.result is not None else "subroutine"
            out.append(f"    {kind} {cname}({', '.join(cb.args)})")
            if cb.result is not None:
                out.append(f"      {FORTRAN_TYPES[cb.result.dtype]} :: {cname}")
            for aname, arg in cb.args.items():
                intent = {"in": "in", "hide": "in", "out": "out", "inout": "in, out"}[arg.intent]
                decl = f"{FORTRAN_TYPES[arg.dtype]}"
                depends: set[str] = set()
                if arg.is_array:
                    dims = []
                    for item in arg.shape or []:
                        e = expr.parse(item)
                        dims.append(to_f2py(e, fake))
                        depends |= e.scalars | e.arrays
                    decl += f", dimension({', '.join(dims)})"
                decl += f", intent({intent})"
                if depends - {aname}:
                    decl += f", depend({', '.join(sorted(depends - {aname}))})"
                out.append(f"      {decl} :: {aname}")
            out.append(f"    end {kind} {cname}")
        out += ["  end interface", f"end python module {module}", ""]
    return "\n".join(out)


def _routine(fname: str, fn: Function, ext: str) -> list[str]:
    _, symbol = fortran_symbol(fname, fn)
    kind = "function" if fn.result is not None else "subroutine"
    out = [f"{kind} {symbol}({', '.join(fn.args)})"]
    # f2py releases the GIL around the call (serialisation is the Python layer's job). With callbacks
    # too: the build patches f2py's callback functions to take the GIL back (f2py_patches).
    body = ["threadsafe"]
    if fn.callbacks:
        body.insert(0, f"use {user_routines_module(ext, fname)}")
    if fn.result is not None:
        body.append(f"{FORTRAN_TYPES[fn.result.dtype]} :: {symbol}")
    checks = _self_sized_checks(fn)
    for aname, arg in fn.args.items():
        if arg.dtype == "callback":
            body.append(f"external {aname}")
        else:
            body.append(_declaration(aname, arg, fn, checks.get(aname, [])))
    out += [f"  {b}" for b in body]
    out.append(f"end {kind} {symbol}")
    return out


def _intent(arg: Arg) -> str:
    if arg.intent == "hide":
        return "hide"
    if arg.intent == "work":
        return "hide, cache"
    if arg.intent == "out":
        return "out"
    if arg.intent == "inout" and not arg.is_array:
        return "in, out"  # a scalar goes in by reference and its new value comes back as a result
    if arg.intent == "inout" or (arg.is_array and arg.convert == "error"):
        # f2py's intent(in) copies a mismatched array without a word; inout refuses it instead.
        return "inout"
    return "in"


def _self_sized_checks(fn: Function) -> dict[str, list[tuple[str, set[str]]]]:
    """Checks that the extents f2py cannot check itself are right, keyed by the hidden value to attach them to.

    f2py checks an array's extent only when the array depends on the size; for `a(lda, n)` with
    `n = shape(a, 0)` that dependency is a cycle, so `shape(a, 1) == n` must be checked explicitly,
    or a 3x2 array would reach the kernel as 3x3.
    """
    order = list(fn.args)
    checks: dict[str, list[tuple[str, set[str]]]] = {}
    for xname, x in fn.args.items():
        for i, item in enumerate(x.shape or []):
            if item == ASSUMED:
                continue
            e = expr.parse(item)
            derived = [h for h in e.scalars if xname in _derived_from(h, fn)]
            if derived:
                host = max(derived, key=order.index)
                checks.setdefault(host, []).append((f"shape({xname}, {i}) == {to_f2py(e, fn)}", e.scalars | {xname}))
    return checks


def _declaration(aname: str, arg: Arg, fn: Function, checks: list[tuple[str, set[str]]] = ()) -> str:  # type: ignore[assignment]
    attrs = [f"intent({_intent(arg)})"]
    depends: set[str] = set()
    if checks:
        attrs.append("check(" + " && ".join(f"({c})" for c, _ in checks) + ")")
        for _, names in checks:
            depends |= names
    if arg.is_array:
        dims = []
        for item in arg.shape or []:
            if item == ASSUMED:
                dims.append(":")
                continue
            e = expr.parse(item)
            dims.append(to_f2py(e, fn))
            depends |= e.scalars | e.arrays
        attrs.insert(0, f"dimension({', '.join(dims)})")
        if arg.order == "C" and len(arg.shape or []) > 1:
            attrs.append("c")
    init = ""
    if arg.intent == "hide":
        e = expr.parse(arg.value)  # type: ignore[arg-type]
        init = f" = {to_f2py(e, fn)}"
        depends |= e.scalars | e.arrays
    elif arg.default is not None:
        attrs.insert(0, "optional")
        init = f" = {_literal(arg.default)}"
    # An array sized by a hidden value computed from that same array (n = shape(d, 0); d(n)) must not
    # depend on it, or f2py sees a cycle; f2py still checks the extent once n is known.
    depends = {d for d in depends if d != aname and aname not in _derived_from(d, fn)}
    if depends:
        attrs.append(f"depend({', '.join(sorted(depends))})")
    return f"{FORTRAN_TYPES[arg.dtype]}, {', '.join(attrs)} :: {aname}{init}"


def _derived_from(name: str, fn: Function, seen: frozenset[str] = frozenset()) -> set[str]:
    """The arguments a hidden value is computed from, directly or through other hidden values."""
    arg = fn.args.get(name)
    if arg is None or arg.intent != "hide" or arg.value is None or name in seen:
        return set()
    e = expr.parse(arg.value)
    out = set(e.scalars | e.arrays)
    for dep in list(out):
        out |= _derived_from(dep, fn, seen | {name})
    return out


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return repr(value)


def to_f2py(e: expr.Expr, fn: Function) -> str:
    """An expression in f2py's C-like dimension syntax."""
    return _F2pyEmitter(fn).visit(e.tree)


class _F2pyEmitter(expr.InfixEmitter):
    """f2py's C-like dimension syntax: shape(a, i), integer division as '/', min/max as its MIN/MAX macros."""

    DIVIDE = "/"

    def __init__(self, fn: Function) -> None:
        self.fn = fn

    def extent(self, array: str, dim: int) -> str:
        return f"shape({array}, {dim})"

    def size(self, array: str) -> str:
        rank = len(self.fn.args[array].shape or [])
        return "(" + " * ".join(f"shape({array}, {i})" for i in range(rank)) + ")"

    def fold(self, function: str, left: str, right: str) -> str:
        return f"{function.upper()}({left}, {right})"
