"""The typed spec model: one Library per spec file. JSON Schema and validation come from these classes."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, PrivateAttr, field_validator, model_validator

Dtype = Literal["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64",
                "complex64", "complex128", "bool", "string", "callback", "object"]
Intent = Literal["in", "out", "inout", "hide", "work"]
Language = Literal["fortran", "c", "cpp"]
Scalar = bool | int | float | str
ShapeItem = Annotated[int | str, Field(description="an integer, an expression over other args ('n', 'lda', "
                                                     "'shape(a, 0)'), or ':' for a Fortran assumed-shape extent")]

INTEGER_DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")
UNSIGNED_DTYPES = ("uint8", "uint16", "uint32", "uint64")
INTEGER_BOUNDS = {d: ((0, 2 ** int(d[4:]) - 1) if d.startswith("u") else (-(2 ** (int(d[3:]) - 1)), 2 ** (int(d[3:]) - 1) - 1))
                  for d in INTEGER_DTYPES}  # inclusive


def fits_integer(value: object, dtype: str) -> bool:
    """Whether value is an int (not a bool) that the integer dtype holds without change."""
    low, high = INTEGER_BOUNDS[dtype]
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
REAL_DTYPES = (*INTEGER_DTYPES, "float32", "float64")
NUMERIC_DTYPES = (*REAL_DTYPES, "complex64", "complex128", "bool")  # the dtypes of numpy arrays

_UNITS = {"": 1, "B": 1, "K": 1000, "KB": 1000, "KIB": 1024, "M": 1000**2, "MB": 1000**2, "MIB": 1024**2,
          "G": 1000**3, "GB": 1000**3, "GIB": 1024**3, "T": 1000**4, "TB": 1000**4, "TIB": 1024**4}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Range(_Model):
    """Allowed values of a scalar argument, checked before the call."""

    min: int | float | None = None
    max: int | float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Arg(_Model):
    """One argument of a legacy routine, in the routine's own order."""

    dtype: Dtype
    shape: list[ShapeItem] | None = Field(None, description="dimensions; absent for a scalar")
    order: Literal["C", "F"] | None = Field(None, description="memory order; default F for Fortran, C otherwise")
    intent: Intent = "in"
    convert: Literal["error", "copy"] | None = Field(
        None, description="on wrong dtype/order/strides: raise (default for inout/out) or copy (default for in)")
    value: int | str | None = Field(None, description="for intent hide: the expression that computes it; for an "
                                    "inout integer scalar: its value going in (e.g. 'size(buf)'), and it is returned")
    limit: int | str | None = Field(None, description="for an integer scalar that tells the kernel how much room an "
                                    "array has: the most it may be, an expression such as 'size(buf)'; checked "
                                    "before every call so that the kernel cannot write past the end")
    default: Scalar | None = Field(None, description="default for an optional scalar input")
    range: Range | None = None
    units: str | None = None
    doc: str = ""
    ctype: str | None = Field(None, description="exact C/C++ type when it differs from the dtype's default")

    @property
    def is_array(self) -> bool:
        """True when the argument has a shape."""
        return self.shape is not None


class ErrorCode(_Model):
    """One status value (or range of values) and what it becomes in Python."""

    code: int | str = Field(description="a value (3), a comparison ('<0', '>0', '!=0', '>=2') or a range ('1..5')")
    exception: str | None = Field(None, description="a builtin exception name or a new class name (default "
                                  "RuntimeError): the call raises it")
    warning: str | None = Field(None, description="instead of an exception: a warning class (a builtin warning or a "
                                "new class name); the call warns and still returns its results")
    ok: str | None = Field(None, description="instead of an exception: a success, under this name; the status is "
                           "then returned (an int with .name) after the other results")
    message: str = Field("", description="may use {code}, {-code} and the names of scalar arguments")

    @property
    def raises(self) -> str:
        """The exception class name an error row raises (RuntimeError when the row names none)."""
        return self.exception or "RuntimeError"

    @property
    def outcome(self) -> str:
        """'ok', 'warning' or 'error'."""
        return "ok" if self.ok is not None else "warning" if self.warning is not None else "error"


class Errors(_Model):
    """Where a routine reports failure (an INFO/status argument or the return value) and how to map it."""

    source: str = Field(alias="from", description="the status argument's name, or 'return'")
    codes: list[ErrorCode] = Field(min_length=1, description="checked in order, the first match wins; a code no "
                                   "row matches is an error unless it is 0")

    @property
    def returns_status(self) -> bool:
        """True when some codes are named successes: the status is then one of the call's results."""
        return any(c.ok is not None for c in self.codes)


class Abort(_Model):
    """How a callback stops the legacy computation when the Python callable raises."""

    return_: Scalar | None = Field(None, alias="return", description="value the callback returns to the kernel")
    set: str | None = Field(None, description="a callback argument to assign, e.g. an iflag")
    value: Scalar | None = None


class Callback(_Model):
    """The signature of a Python callable passed into legacy code."""

    args: dict[str, Arg] = {}
    result: Arg | None = None
    abort: Abort | None = None
    doc: str = ""


class Resources(_Model):
    """What one call needs; used by isolated calls, services and jobs (CWL ResourceRequirement names)."""

    cores: PositiveInt = 1
    memory: int | str | None = Field(None, description="bytes, or '512MiB', '2GB', ...")
    walltime: float | str | None = Field(None, description="seconds, or 'HH:MM:SS'")
    timeout: float | str | None = Field(None, description="seconds, or 'HH:MM:SS'; an isolated call is killed after it")

    @field_validator("memory")
    @classmethod
    def _bytes(cls, v: int | str | None) -> int | None:
        if v is None or isinstance(v, int):
            if isinstance(v, int) and v <= 0:
                raise ValueError("memory must be positive")
            return v
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", v)
        if not m or m.group(2).upper() not in _UNITS:
            raise ValueError(f"cannot read {v!r} as a size; expected e.g. 512MiB, 2GB or a number of bytes")
        return int(float(m.group(1)) * _UNITS[m.group(2).upper()])

    @field_validator("walltime", "timeout")
    @classmethod
    def _seconds(cls, v: float | str | None) -> float | None:
        if v is None:
            return None
        if isinstance(v, str):
            parts = v.strip().split(":")
            if not 1 <= len(parts) <= 3 or not all(re.fullmatch(r"\d+(\.\d+)?", p) for p in parts):
                raise ValueError(f"cannot read {v!r} as a duration; expected seconds or HH:MM:SS")
            v = sum(float(p) * 60**i for i, p in enumerate(reversed(parts)))
        if v <= 0:
            raise ValueError("must be positive")
        return float(v)


class Function(_Model):
    """A legacy routine and how it is called from Python."""

    symbol: str | None = Field(None, description="linker/C++ name when it differs (trailing _, bind(C), ns::f)")
    doc: str = ""
    args: dict[str, Arg] = {}
    result: Arg | None = None
    errors: Errors | None = None
    callbacks: dict[str, Callback] = Field({}, description="keyed by the name of an arg with dtype callback")
    threadsafe: bool = Field(False, description="may run in several threads at once (else calls are serialised)")
    resources: Resources = Resources()


class Property(_Model):
    """A C++ data member or getter/setter pair exposed as a Python attribute."""

    dtype: Dtype
    shape: list[ShapeItem] | None = None
    readonly: bool = False
    getter: str | None = None
    setter: str | None = None
    ctype: str | None = None
    doc: str = ""


class Constructor(_Model):
    """One C++ constructor overload."""

    args: dict[str, Arg] = {}
    doc: str = ""


class Class(_Model):
    """A C++ class with constructors, methods and properties."""

    symbol: str | None = Field(None, description="qualified C++ name when it differs, e.g. md::System")
    doc: str = ""
    constructors: list[Constructor] = [Constructor()]
    methods: dict[str, Function] = {}
    properties: dict[str, Property] = {}


class Library(_Model):
    """A legacy library: what to compile or link, and the routines and classes to wrap."""

    name: str = Field(description="the Python module name")
    language: Language
    version: str = "0"
    doc: str = ""
    sources: list[str] = Field([], description="source files, relative to the spec file")
    headers: list[str] = Field([], description="C/C++ headers to include, relative to the spec file")
    libraries: list[str] = Field([], description="prebuilt libraries to link, e.g. lapack for -llapack, or "
                                 "':liblapack_pic.a' for a private static copy that routines of your sources "
                                 "(a replacement XERBLA) override whatever else the process has loaded")
    library_dirs: list[str] = []
    include_dirs: list[str] = []
    flags: list[str] = Field([], description="extra compiler flags")
    functions: dict[str, Function] = {}
    classes: dict[str, Class] = {}
    exceptions: dict[str, str] = Field(
        {}, description="C++ exception type -> Python exception (a builtin, module.Class, or a new class name); "
                        "list derived types before their bases")

    _base_dir: Path | None = PrivateAttr(None)
    _warnings: list = PrivateAttr(default_factory=list)  # SpecIssue: valid, but unsafe or surprising

    @property
    def warnings(self) -> list:
        """What `wrapgen check` warns about (SpecIssue items): the spec is valid but leaves something unchecked."""
        return self._warnings

    @property
    def base_dir(self) -> Path | None:
        """The directory of the spec file; sources and headers are relative to it."""
        return self._base_dir

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: object) -> object:
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
