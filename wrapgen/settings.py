"""Typed settings models as command-line options and JSON Schema (scikit-build-core's idea).

Each runtime surface (url-copy, the GridFTP server, the WS-RF service; next the job manager and pipelines) has one
frozen pydantic model. Its fields carry their flags, help and defaults, so the argparse options, the library's
keyword arguments and `wrapgen schema --settings NAME` all come from one place and cannot drift apart.
"""

from __future__ import annotations

import argparse
import importlib
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import UsageError

M = TypeVar("M", bound="Settings")

# The settings models `wrapgen schema --settings NAME` knows, by dotted name (imported only when asked for).
KNOWN: Mapping[str, str] = types.MappingProxyType({
    "url-copy": "wrapgen.urls.settings:CopySettings",
    "gridftp-server": "wrapgen.gridftp.settings:ServerSettings",
    "serve": "wrapgen.wsrf.settings:ServeSettings",
    "jobmanager": "wrapgen.gram.settings:JobManagerSettings",
})


class Settings(BaseModel):
    """Base of every settings model: frozen, unknown names refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def of(cls: type[M], **values: Any) -> M:
        """The model from keyword arguments, a mistake reported as a UsageError naming the option."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise UsageError(_message(cls, exc)) from None


def option(default: Any, *flags: str, help: str, metavar: str | None = None, negate: bool = False,
           parse: Callable[[str], Any] | None = None, **constraints: Any) -> Any:
    """A settings field with its command-line flags (negate: a bare flag sets a bool to False)."""
    cli: dict[str, Any] = {"flags": list(flags)}
    if metavar:
        cli["metavar"] = metavar
    if negate:
        cli["negate"] = True
    if parse is not None:
        cli["parse"] = f"{parse.__module__}:{parse.__qualname__}"
    return Field(default, description=help, json_schema_extra={"x-cli": cli}, **constraints)


def add_options(parser: argparse.ArgumentParser, model: type[Settings], skip: tuple[str, ...] = ()) -> None:
    """Add the model's fields to parser as options; only the options given land in the namespace."""
    for name, f in model.model_fields.items():
        cli = _cli(f)
        if name in skip or not cli.get("flags"):
            continue
        kw: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS, "help": f.description}
        if f.is_required():
            kw["required"] = True
        kind = _base(f.annotation)
        if kind is bool:
            kw["action"] = "store_false" if cli.get("negate") else "store_true"
        else:
            if typing.get_origin(f.annotation) is list:
                kw["action"] = "append"
                kind = typing.get_args(f.annotation)[0]
            choices = _choices(f.annotation)
            if choices:
                kw["choices"] = choices
            else:
                kw["type"] = _parser(cli["parse"]) if "parse" in cli else kind
            if "metavar" in cli:
                kw["metavar"] = cli["metavar"]
        parser.add_argument(*cli["flags"], **kw)


def from_args(model: type[M], args: argparse.Namespace, **extra: Any) -> M:
    """The model from a namespace add_options() filled (absent options take the model's defaults)."""
    given = {name: getattr(args, name) for name in model.model_fields if hasattr(args, name)}
    return model.of(**{**given, **extra})


def json_schema(name: str) -> dict:
    """The JSON Schema of the settings model `wrapgen schema --settings NAME` names."""
    if name not in KNOWN:
        raise UsageError(f"--settings {name!r}: expected one of {', '.join(sorted(KNOWN))}")
    model = _parser(KNOWN[name])
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"wrapgen {name} settings"
    return schema


def _message(model: type[Settings], exc: ValidationError) -> str:
    """One line per mistake, each naming the option as the command line spells it."""
    lines = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else ""
        f = model.model_fields.get(name)
        flag = (_cli(f).get("flags") or [name])[0] if f is not None else name
        value = err.get("input")
        if err["type"] == "missing":
            lines.append(f"{flag} is required")
            continue
        if err["type"] == "extra_forbidden":
            lines.append(f"{name}: not an option; expected one of {', '.join(model.model_fields)}")
            continue
        low = high = None
        for m in (f.metadata if f is not None else []):
            low = getattr(m, "ge", low) if getattr(m, "ge", None) is not None else low
            high = getattr(m, "le", high) if getattr(m, "le", None) is not None else high
        if err["type"] == "value_error":  # a model validator's own message names its options
            lines.append(str(err["ctx"]["error"]))
        elif err["type"] in ("greater_than_equal", "less_than_equal") and low is not None and high is not None:
            lines.append(f"{flag} {value}: expected {low} to {high}")
        elif err["type"] == "greater_than_equal":
            lines.append(f"{flag} {value}: expected {low} or more")
        else:
            lines.append(f"{flag} {value!r}: {err['msg']}")
    return "; ".join(lines)


def _cli(f: Any) -> dict[str, Any]:
    extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
    return extra.get("x-cli", {})


def _base(annotation: Any) -> Any:
    """The type under Optional[...]."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _base(args[0])
    return annotation


def _choices(annotation: Any) -> tuple | None:
    base = _base(annotation)
    if typing.get_origin(base) is list:
        base = typing.get_args(base)[0]
    return typing.get_args(base) if typing.get_origin(base) is Literal else None


def _parser(dotted: str) -> Any:
    module, _, attr = dotted.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


__all__ = ["KNOWN", "Settings", "add_options", "from_args", "json_schema", "option"]
