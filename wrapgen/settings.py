"""Typed settings models as command-line options and JSON Schema (scikit-build-core's idea).

Each runtime surface (url-copy, the GridFTP server, the WS-RF service, the job manager) has one frozen model. Its
fields carry their flags, help, defaults and limits, so the argparse options, the library's keyword arguments and
`wrapgen schema --settings NAME` all come from one place and cannot drift apart.

The models are frozen dataclasses checked here, not pydantic models: `wrapgen url-copy` of one file has to start
about as fast as globus-url-copy's whole ~40 ms copy, and importing pydantic and building the model took ~90 ms
(issue 17). What these fields need is small: their types (with the conversions callers rely on: str to Path, int
to float, a list to a tuple), ranges (ge, le, gt), choices (Literal) and each model's consistency check(). pydantic
stays where documents are validated (specs, pipelines, job descriptions).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from .errors import UsageError

M = TypeVar("M", bound="Settings")

# The settings models `wrapgen schema --settings NAME` knows, by dotted name (imported only when asked for).
KNOWN: Mapping[str, str] = types.MappingProxyType({
    "url-copy": "wrapgen.urls.settings:CopySettings",
    "gridftp-server": "wrapgen.gridftp.settings:ServerSettings",
    "serve": "wrapgen.wsrf.settings:ServeSettings",
    "jobmanager": "wrapgen.gram.settings:JobManagerSettings",
})


@dataclasses.dataclass(frozen=True)
class FieldInfo:
    """One settings field: its type, default and command-line spelling."""

    name: str
    type: Any
    default: Any
    required: bool
    flags: tuple[str, ...] = ()
    help: str = ""
    metavar: str | None = None
    negate: bool = False  # a bare flag sets a bool to False
    parse: Callable[[str], Any] | None = None  # the option's argument parser, if not the type itself
    ge: float | None = None
    le: float | None = None
    gt: float | None = None

    @property
    def flag(self) -> str:
        """How the command line spells it (the field's name if it has no flag)."""
        return self.flags[0] if self.flags else self.name


def option(default: Any, *flags: str, help: str, metavar: str | None = None, negate: bool = False,
           parse: Callable[[str], Any] | None = None, ge: float | None = None, le: float | None = None,
           gt: float | None = None) -> Any:
    """A settings field with its command-line flags (default ... for a required one)."""
    meta = {"wrapgen": dict(flags=tuple(flags), help=help, metavar=metavar, negate=negate, parse=parse, ge=ge,
                            le=le, gt=gt)}
    if default is ...:
        return dataclasses.field(metadata=meta)
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class Settings:
    """Base of every settings model: a frozen, keyword-only dataclass whose values are checked when it is made."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(frozen=True, kw_only=True)(cls)

    @classmethod
    def fields(cls) -> dict[str, FieldInfo]:
        """The model's fields, in order."""
        if "_fields" not in cls.__dict__:  # computed once per class: the hints need the finished module
            hints = typing.get_type_hints(cls)
            infos = {}
            for f in dataclasses.fields(cls):  # type: ignore[arg-type]
                required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                default = None if required else (f.default if f.default is not dataclasses.MISSING
                                                 else f.default_factory())  # type: ignore[misc]
                infos[f.name] = FieldInfo(f.name, hints[f.name], default, required, **f.metadata.get("wrapgen", {}))
            cls._fields = infos  # type: ignore[attr-defined]
        return cls.__dict__["_fields"]

    @classmethod
    def of(cls: type[M], **values: Any) -> M:
        """The model from keyword arguments, a mistake reported as a UsageError naming the option."""
        fields = cls.fields()
        unknown = [name for name in values if name not in fields]
        if unknown:
            raise UsageError("; ".join(f"{name}: not an option; expected one of {', '.join(fields)}"
                                       for name in unknown))
        missing = [f.flag for f in fields.values() if f.required and f.name not in values]
        if missing:
            raise UsageError("; ".join(f"{flag} is required" for flag in missing))
        return cls(**values)

    def __post_init__(self) -> None:
        problems = []
        for f in self.fields().values():
            value = getattr(self, f.name)
            try:
                converted = _convert(value, f.type)
            except ValueError as exc:
                problems.append(f"{f.flag} {value!r}: expected {exc}")
                continue
            if converted is not value:
                object.__setattr__(self, f.name, converted)
            problem = _out_of_range(f, converted)
            if problem:
                problems.append(problem)
        if problems:
            raise UsageError("; ".join(problems))
        try:
            self.check()
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def check(self) -> None:
        """Raise ValueError, naming the options, if the values do not go together (a model's own rules)."""

    def to_json(self) -> dict[str, Any]:
        """The values as JSON types."""
        return {name: _jsonable(getattr(self, name)) for name in self.fields()}


def _convert(value: Any, hint: Any) -> Any:
    """value as hint's type (the few conversions callers rely on), or ValueError saying what was expected."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        rest = [a for a in args if a is not type(None)]
        return _convert(value, rest[0]) if len(rest) == 1 else value
    if origin is Literal:
        if value not in args:
            raise ValueError("one of " + ", ".join(map(str, args)))
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ValueError("a list")
        return [_convert(v, args[0]) for v in value]
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise ValueError(f"{len(args)} values")
        return tuple(_convert(v, a) for v, a in zip(value, args))
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError("true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("a number")
        return value if isinstance(value, float) else float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError("a string")
        return value
    if hint is Path:
        if not isinstance(value, (str, os.PathLike)):
            raise ValueError("a path")
        return value if isinstance(value, Path) else Path(value)
    return value


def _out_of_range(f: FieldInfo, value: Any) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    if f.ge is not None and f.le is not None and not f.ge <= value <= f.le:
        return f"{f.flag} {value}: expected {f.ge:g} to {f.le:g}"
    if f.ge is not None and value < f.ge:
        return f"{f.flag} {value}: expected {f.ge:g} or more"
    if f.le is not None and value > f.le:
        return f"{f.flag} {value}: expected {f.le:g} or less"
    if f.gt is not None and value <= f.gt:
        return f"{f.flag} {value}: expected more than {f.gt:g}"
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


def add_options(parser: argparse.ArgumentParser, model: type[Settings], skip: tuple[str, ...] = ()) -> None:
    """Add the model's fields to parser as options; only the options given land in the namespace."""
    for name, f in model.fields().items():
        if name in skip or not f.flags:
            continue
        kw: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS, "help": f.help}
        if f.required:
            kw["required"] = True
        kind = _base(f.type)
        if kind is bool:
            kw["action"] = "store_false" if f.negate else "store_true"
        else:
            if typing.get_origin(kind) is list:
                kw["action"] = "append"
                kind = typing.get_args(kind)[0]
            choices = typing.get_args(kind) if typing.get_origin(kind) is Literal else None
            if choices:
                kw["choices"] = choices
            else:
                kw["type"] = f.parse or kind
            if f.metavar:
                kw["metavar"] = f.metavar
        parser.add_argument(*f.flags, **kw)


def from_args(model: type[M], args: argparse.Namespace, **extra: Any) -> M:
    """The model from a namespace add_options() filled (absent options take the model's defaults)."""
    given = {name: getattr(args, name) for name in model.fields() if hasattr(args, name)}
    return model.of(**{**given, **extra})


def json_schema(name: str) -> dict:
    """The JSON Schema of the settings model `wrapgen schema --settings NAME` names."""
    if name not in KNOWN:
        raise UsageError(f"--settings {name!r}: expected one of {', '.join(sorted(KNOWN))}")
    model = _parser(KNOWN[name])
    properties = {}
    for field_name, f in model.fields().items():
        prop = {"title": field_name.replace("_", " ").title(), **_type_schema(f.type, f), "description": f.help}
        if not f.required:
            prop["default"] = _jsonable(f.default)
        cli: dict[str, Any] = {"flags": list(f.flags)}
        if f.metavar:
            cli["metavar"] = f.metavar
        if f.negate:
            cli["negate"] = True
        if f.parse is not None:
            cli["parse"] = f"{f.parse.__module__}:{f.parse.__qualname__}"
        prop["x-cli"] = cli
        properties[field_name] = prop
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": f"wrapgen {name} settings",
            "description": model.__doc__, "type": "object", "properties": properties,
            "required": [n for n, f in model.fields().items() if f.required], "additionalProperties": False}


def _type_schema(hint: Any, f: FieldInfo | None = None) -> dict[str, Any]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_type_schema(a, f) if a is not type(None) else {"type": "null"} for a in args]}
    if origin is Literal:
        return {"enum": list(args)}
    if origin is list:
        return {"type": "array", "items": _type_schema(args[0])}
    if origin is tuple:
        return {"type": "array", "prefixItems": [_type_schema(a) for a in args], "minItems": len(args),
                "maxItems": len(args)}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string", Path: "string"}
    schema: dict[str, Any] = {"type": simple.get(hint, "string")}
    if hint is Path:
        schema["format"] = "path"
    if f is not None and hint in (int, float):
        for key, limit in (("minimum", f.ge), ("maximum", f.le), ("exclusiveMinimum", f.gt)):
            if limit is not None:
                schema[key] = limit
    return schema


def _base(annotation: Any) -> Any:
    """The type under Optional[...]."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _base(args[0])
    return annotation


def _parser(dotted: str) -> Any:
    module, _, attr = dotted.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


__all__ = ["KNOWN", "FieldInfo", "Settings", "add_options", "from_args", "json_schema", "option"]
