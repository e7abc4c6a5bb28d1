"""What generated modules use at run time: status codes to exceptions, and clear argument errors.

Argument checks run in f2py's C code on every call; only when it refuses an argument does
`diagnose` look at the arguments again to say, in our words, which one is wrong and why.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import WrapgenError
from ..spec.codes import matches



class KernelError(WrapgenError, RuntimeError):
    """Base of the exception classes a spec declares for a kernel's error codes; `.code` is the status."""

    code: int | None = None


class KernelWarning(UserWarning):
    """Base of the warning classes a spec declares for status codes that still give results; `.code` is the
    status."""

    code: int | None = None


# (library, class name) -> the class: one identity per process for the error and warning classes a spec declares,
# so the module, its isolated twin and a client of its service raise the same class (a cache of identities, as
# sys.modules is; entries are never changed once made).
_DECLARED: dict[tuple[str, str], type] = {}


def declared_class(library: str, name: str, warning: bool = False) -> type:
    """The class a spec's status table declares (`exception: BufferTooSmall`), the same object wherever it is
    asked for in this process: the generated module, wrapgen.load(..., isolate=True), wrapgen.connect()."""
    cls = _DECLARED.get((library, name))
    if cls is None:
        base = KernelWarning if warning else KernelError
        what = "a status code that still gives results" if warning else "a kernel error code"
        made = type(name, (base,), {"__module__": library, "__doc__": f"Declared by the {library} spec for {what}."})
        cls = _DECLARED.setdefault((library, name), made)  # atomic: two threads agree on one class
    return cls


class Status(int):
    """A status code the spec names a success (`ok: converged`): an int that also has `.name`."""

    name: str

    def __new__(cls, code: int, name: str) -> Status:
        obj = super().__new__(cls, code)
        obj.name = name
        return obj

    def __repr__(self) -> str:
        return f"Status({int(self)}, {self.name!r})"

    def __reduce__(self) -> tuple:
        return (Status, (int(self), self.name))


# ---------------------------------------------------------------- conversions that keep every value

ndarray = np.ndarray  # generated code tests `type(x) is _rt.ndarray` on its fast path
# ... and `x.dtype is DTYPES[...]`: numpy keeps one dtype object per native type, so an identity test is
# enough there; any other dtype object (byte-swapped, or merely equal) takes the slow path, which compares.
# (spec.model.NUMERIC_DTYPES, spelled out: generated modules must not import pydantic through spec.model)
DTYPES = {d: np.dtype(d) for d in ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
                                   "float32", "float64", "complex64", "complex128", "bool")}


def extent(value: Any, dim: int) -> int:
    """shape(value, dim) as spec expressions read it: 1 past the rank; lists as numpy sees them."""
    if type(value) is bytes or type(value) is bytearray:
        return len(value) if dim == 0 else 1
    shape = value.shape if type(value) is ndarray else np.shape(value)
    return int(shape[dim]) if dim < len(shape) else 1


def size(value: Any) -> int:
    """size(value): the number of elements."""
    if type(value) is ndarray:
        return value.size
    return len(value) if type(value) is bytes or type(value) is bytearray else int(np.size(value))


_MANTISSA = {"f": {4: 24, 8: 53, 16: 64}, "c": {8: 24, 16: 53, 32: 64}}  # exact integer bits of a float


def _widening(src: np.dtype, dst: np.dtype) -> bool:
    """True when every value of src is a value of dst (no element needs to be looked at)."""
    if src.kind == "b":
        return dst.kind in "biufc"
    if src.kind in "iu" and dst.kind in "iu":
        return bool(np.can_cast(src, dst, "safe"))
    if src.kind in "iu" and dst.kind in "fc":  # numpy's 'safe' says int64 -> float64, which rounds above 2**53
        return src.itemsize * 8 - (src.kind == "i") <= _MANTISSA[dst.kind].get(dst.itemsize, 0)
    if src.kind in "fc" and dst.kind in "fc":
        return bool(np.can_cast(src, dst, "safe"))
    return False


_UINT8 = np.dtype(np.uint8)


def as_buffer(value: Any) -> Any:
    """bytes, bytearray and memoryview as the ndarray over the same memory (bytes stay read-only)."""
    if isinstance(value, (bytes, bytearray)):
        return np.frombuffer(value, dtype=_UINT8)
    if isinstance(value, memoryview):
        return np.asarray(value)
    return value


def exact(fn_name: str, name: str, value: Any, dtype: str, what: str | None = None) -> Any:
    """An input array as dtype, converted only if no element changes on the way; TypeError naming the argument and
    the first element that would change otherwise (a copy is for convenience, never for rounding or wrapping)."""
    value = as_buffer(value)
    if type(value) is ndarray and value.dtype is DTYPES.get(dtype):  # bytes for uint8: the common case, quick
        return value
    what = what or f"{fn_name}(): argument '{name}'"
    try:
        src = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{what} cannot be read as an array of {dtype}: {exc}") from None
    target = np.dtype(dtype)
    if src.dtype == target:
        return src
    if src.dtype.kind not in "biufc":
        raise TypeError(f"{what} must be numbers that fit {dtype}, got {_kind_of(src)}")
    if target.kind == "b":
        raise TypeError(f"{what} is bool: pass True/False values (a bool array), got {src.dtype}; numbers are not "
                        f"read as truth values (2 would become True and come back as 1)")
    if _widening(src.dtype, target):
        return src.astype(target)
    if src.dtype.kind == "c" and target.kind != "c":
        if np.any(src.imag != 0):
            where = np.unravel_index(int(np.argmax(src.imag != 0)), src.shape) if src.ndim else ()
            raise TypeError(f"{what} is {dtype}, not complex: element {where} is {src[where].item()!r}, whose "
                            f"imaginary part would be lost")
        src = src.real  # every imaginary part is 0: the real parts are the values
    with np.errstate(all="ignore"):
        converted = src.astype(target)
        back = converted.astype(src.dtype)
        same = back == src
        if src.dtype.kind in "fc":
            same |= np.isnan(src) & np.isnan(back)
    if not same.all():
        where = np.unravel_index(int(np.argmin(same)), src.shape) if src.ndim else ()
        index = f" element {where if len(where) > 1 else where[0]}" if where else ""
        item = src[where] if where else src[()]
        raise TypeError(f"{what} would change in the conversion from {src.dtype} to {dtype}:{index} is "
                        f"{item.item()!r}, which {dtype} does not hold (it would become {converted[where].item()!r}); "
                        f"pass values that {dtype} holds, or convert them yourself ({name}.astype(np.{dtype})) if that "
                        f"change is what you want")
    return converted


def _kind_of(a: np.ndarray) -> str:
    if a.dtype.kind == "O":
        return "Python objects (a ragged or mixed list?)"
    if a.dtype.kind in "SU":
        return "text"
    return str(a.dtype)


def exact_integer(fn_name: str, name: str, value: Any, dtype: str, low: int, high: int,
                  what: str | None = None) -> int:
    """An integer scalar argument as a Python int, if its value is one the dtype holds: 40.0 is 40, 40.9 and
    2**40 for an int32 are refused (the kernel would see 40 or a wrapped number)."""
    what = what or f"{fn_name}(): argument '{name}'"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{what} must be an integer, got {type(value).__name__}")
    if isinstance(value, (float, np.floating)):
        if not float(value).is_integer():
            raise TypeError(f"{what} must be an integer, got {value!r} (it would reach the kernel as "
                            f"{int(value) if np.isfinite(value) else 'garbage'})")
    number = int(value)
    if not low <= number <= high:
        raise OverflowError(f"{what} = {number} does not fit {dtype} ([{low}, {high}])")
    return number


def check_limit(fn_name: str, name: str, value: int, limit: int, text: str) -> None:
    """Refuse a length or capacity larger than the room the spec ties it to (the kernel would overrun)."""
    if value > limit:
        raise ValueError(f"{fn_name}(): argument '{name}' = {value} is larger than {text} = {limit}: the kernel "
                         f"would read or write past the end")


def check_range(fn_name: str, name: str, value: Any, low: float | None, high: float | None) -> None:
    """Refuse a scalar outside the spec's range, or something that is not a real number at all."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fn_name}(): argument '{name}' must be a real number, got {type(value).__name__}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{fn_name}(): argument '{name}' = {value!r} is outside "
                         f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]")


def resolve_exception(name: str, local: Mapping[str, type[BaseException]]) -> type[BaseException]:
    """A class named in a spec: one the generated module defines, a builtin exception, or an exception class
    of an allowed package (see wrapgen.spec.exceptions); never an arbitrary attribute."""
    from ..spec.exceptions import resolve

    try:
        return resolve(name, local)
    except ValueError as exc:
        raise WrapgenError(str(exc)) from None


def check_status(fn_name: str, source: str, codes: list[tuple[int | str, str, Any, str]], code: int,
                 scalars: Mapping[str, Any]) -> int:
    """What a status means, by the spec's table (first matching row): raise its exception, warn with its warning
    class (and return), or return it (a Status when the row names a success). A code no row matches is an
    error, except 0."""
    code = int(code)
    for pattern, outcome, what, message in codes:
        if not matches(pattern, code):
            continue
        if outcome == "ok":
            return Status(code, what)
        text = message.format_map({"code": code, "-code": -code, **scalars}) if message else f"{source} = {code}"
        exc = what(f"{fn_name}: {text}")
        try:
            exc.code = code
        except AttributeError:
            pass
        if outcome == "warning":
            warnings.warn(exc, stacklevel=3)
            return code
        raise exc
    if code:
        raise unexpected_status(fn_name, source, code)
    return code


def unexpected_status(fn_name: str, source: str, code: int) -> KernelError:
    """A status that the spec's error table does not describe: still an error, never silence."""
    exc = KernelError(f"{fn_name}: {source} = {code}, which the spec's error table does not describe")
    exc.code = code
    return exc


def diagnose(fn_name: str, spec_json: str, given: Mapping[str, Any], original: Exception) -> Exception:
    """Explain why the extension refused the arguments; falls back to the original message."""
    # Imported here: generated modules must not pay for pydantic unless a call goes wrong.
    from ..spec import expr
    from ..spec.model import Function

    fn = Function.model_validate_json(spec_json)
    shapes: dict[str, tuple[int, ...]] = {}
    scalars: dict[str, int] = {}
    for name, arg in fn.args.items():
        if name not in given:
            continue
        value = given[name]
        if arg.shape is None:
            if arg.dtype in ("int32", "int64") and isinstance(value, (int, np.integer)):
                scalars[name] = int(value)
            continue
        problem = _array_problem(name, arg, value)
        if problem is not None:
            return type(problem)(f"{fn_name}(): {problem}")
        shapes[name] = np.shape(value)
    for name, arg in fn.args.items():
        if arg.intent == "hide" and arg.value is not None:
            try:
                scalars[name] = expr.parse(arg.value).evaluate(scalars, shapes)
            except (KeyError, ZeroDivisionError):
                pass
    for name, arg in fn.args.items():
        if name not in shapes or arg.shape is None:
            continue
        try:
            want = tuple(shapes[name][i] if item == expr.ASSUMED else expr.parse(item).evaluate(scalars, shapes)
                         for i, item in enumerate(arg.shape))
        except (KeyError, ZeroDivisionError, IndexError):
            continue
        if shapes[name] != want:
            sizes = ", ".join(f"{n} = {v}" for n, v in scalars.items() if n != name)
            return ValueError(f"{fn_name}(): argument '{name}' must have shape {want} "
                              f"(spec: {list(arg.shape)}{'; ' + sizes if sizes else ''}), got {shapes[name]}")
    if "intent(inout)" in str(original):
        # f2py takes no-copy (convert: error) input arrays as intent(inout), which refuses read-only memory
        # (np.frombuffer, mmap_mode='r') with a message about contiguity; say what really happened.
        for name, arg in fn.args.items():
            value = given.get(name)
            if arg.intent == "in" and arg.convert == "error" and isinstance(value, np.ndarray) \
                    and not value.flags.writeable:
                return TypeError(f"{fn_name}(): argument '{name}' is a read-only array; this Fortran binding takes "
                                 f"it without a copy and so needs writable memory (the kernel only reads it): pass "
                                 f"{name}.copy(), or declare it convert: copy in the spec")
    given_shapes = ", ".join(f"{n} {np.shape(v)}" if fn.args[n].shape is not None else f"{n} = {v!r}"
                             for n, v in given.items() if n in fn.args)
    cls = type(original) if isinstance(original, (ValueError, TypeError)) else ValueError
    return cls(f"{fn_name}(): {original} (given: {given_shapes})")


def _array_problem(name: str, arg: Any, value: Any) -> Exception | None:
    ndim = len(arg.shape)
    strict = arg.convert == "error"
    value = as_buffer(value)  # bytes: read-only, which the inout check below says in so many words
    if not isinstance(value, np.ndarray):
        if strict:
            return TypeError(f"{_where(name)} must be a numpy.ndarray of {arg.dtype} (intent {arg.intent}, no "
                             f"conversion), got {type(value).__name__}")
        value = np.asarray(value)
    if value.ndim != ndim and not (ndim == 1 and value.size == 1):
        return ValueError(f"{_where(name)} must have {ndim} dimension{'s' * (ndim != 1)}, got {value.ndim}")
    if strict and value.dtype != np.dtype(arg.dtype):
        return TypeError(f"{_where(name)} must be {arg.dtype}, got {value.dtype} (intent {arg.intent}: converting "
                         f"would work on a copy; pass {name}.astype(np.{arg.dtype}) and keep that array)")
    if strict and ndim > 1:
        ok = value.flags.f_contiguous if arg.order == "F" else value.flags.c_contiguous
        if not ok:
            want = "Fortran-ordered (order='F')" if arg.order == "F" else "C-ordered (order='C')"
            return TypeError(f"{_where(name)} must be {want} and contiguous, got "
                             f"{_layout(value)} (intent {arg.intent}: no silent copy; "
                             f"use np.asfortranarray/np.ascontiguousarray and keep that array)")
    elif strict and not (value.flags.c_contiguous or value.flags.f_contiguous):
        return TypeError(f"{_where(name)} must be contiguous, got a strided view (intent {arg.intent}: no silent copy)")
    if arg.intent == "inout" and not value.flags.writeable:
        hint = ": bytes are read-only, pass a bytearray" if isinstance(value.base, bytes) else ""
        return ValueError(f"{_where(name)} is intent inout but the array is read-only{hint}")
    return None


def _where(name: str) -> str:
    return f"argument '{name}'"


def _layout(a: np.ndarray) -> str:
    if a.flags.c_contiguous:
        return "a C-ordered array"
    if a.flags.f_contiguous:
        return "a Fortran-ordered array"
    return "a non-contiguous view"


def callback_stopper(fn_name: str, cb_name: str, meta: Mapping[str, Any], user: Any) -> Any:
    """What a generated callback answers once a call-back has failed: the abort protocol's values (the flag set,
    or the abort return value) and zeros of the right shapes for everything else, so the kernel stops (or, with
    no abort protocol, runs to its end on zeros). Refuses a user object that is not callable.

    meta (generated from the spec): returns (what f2py expects back), shapes/dtypes, abort (flag, value).
    """
    from ..spec import expr

    if not callable(user):
        raise TypeError(f"{fn_name}(): argument '{cb_name}' must be callable, got {type(user).__name__}")
    returns, shapes, dtypes, abort = meta["returns"], meta["shapes"], meta["dtypes"], meta["abort"]

    def stop(values: dict[str, Any]) -> Any:
        scalars = {k: int(v) for k, v in values.items() if isinstance(v, (int, np.integer))}
        arrays = {k: np.shape(v) for k, v in values.items() if isinstance(v, np.ndarray)}
        out = []
        for r in returns:
            if abort and abort[0] == r:
                out.append(abort[1])
            elif r in shapes:
                shape = tuple(expr.parse(item).evaluate(scalars, arrays) for item in shapes[r])
                out.append(np.zeros(shape, dtype=dtypes[r]))
            elif r == "return":
                out.append(abort[1] if abort and abort[0] == "return" else 0)
            else:
                out.append(values.get(r, 0))
        return out[0] if len(out) == 1 else tuple(out)

    return stop


def count_of(value: Any) -> str:
    """How many values a callback returned, for the message that says it was the wrong number."""
    return f"{len(value)}" if isinstance(value, tuple) else f"one {type(value).__name__}"


def real_number(value: Any, what: str) -> float:
    """A real scalar a callback returned, as a float; refused (naming it) if it is not a real number."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{what} must be a real number, got {type(value).__name__}")
    return float(value)


def raise_callback_error(fn_name: str, errors: list[BaseException], stopped: bool) -> None:
    """Re-raise what a callback raised, once the kernel has returned."""
    if errors:
        exc = errors[0]
        exc.add_note(f"raised in a callback of {fn_name}(); "
                     + ("the computation was stopped" if stopped else "the spec has no abort protocol, so the "
                        "computation ran to its end with zeros from the failed calls"))
        raise exc
