"""`wrapgen schema` and `wrapgen check`: the spec format's JSON Schema, and validating spec files."""

from __future__ import annotations

import argparse
import json
import sys


def json_schema() -> dict:
    """The JSON Schema of a spec file, generated from the typed model (for editors and CI linters)."""
    from .model import Library

    schema = Library.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "wrapgen spec"
    return schema


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `wrapgen schema` and `wrapgen check` to the CLI."""
    p = subparsers.add_parser("schema", help="print the JSON Schema of spec files (or of a settings model)",
                              description="Print the JSON Schema generated from the spec model, or with --settings "
                                          "that of a runtime surface's settings (its options, defaults and help).")
    p.add_argument("--settings", metavar="NAME", default=None,
                   help="url-copy, gridftp-server, serve or jobmanager: the settings model of that command")
    p.add_argument("--pipeline", action="store_true", help="the schema of pipeline files (wrapgen run)")
    p.set_defaults(func=_schema)
    p = subparsers.add_parser("check", help="validate spec files",
                              description="Validate spec files; print every problem as file:line:column: field: "
                                          "message and exit 1 if there is any.")
    p.add_argument("specs", nargs="+", metavar="SPEC")
    p.set_defaults(func=_check)
    p = subparsers.add_parser("init", help="draft a spec from legacy sources (Fortran files or C/C++ headers)",
                              description="Read legacy sources and write a draft spec with every routine, its "
                                          "arguments and inferred types; decisions only a person can make "
                                          "(intents, extents, error codes) are marked TODO. The draft validates.")
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument("-o", "--output", required=True, metavar="SPEC", help="where to write the draft")
    p.add_argument("--name", help="library (module) name; default: the first source's stem")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=_init)


def _schema(args: argparse.Namespace) -> int:
    if args.pipeline:
        # named, not imported: spec sits below pipeline in the layering (the plug-in rule's lazy dotted name)
        import importlib

        print(json.dumps(importlib.import_module("wrapgen.pipeline.model").json_schema(), indent=2))
        return 0
    if args.settings is not None:
        from ..settings import json_schema as settings_schema

        print(json.dumps(settings_schema(args.settings), indent=2))
        return 0
    print(json.dumps(json_schema(), indent=2))
    return 0


def _check(args: argparse.Namespace) -> int:
    from .errors import SpecError
    from .load import load_spec

    failed = 0
    for path in args.specs:
        try:
            lib = load_spec(path)
        except SpecError as exc:
            print(exc, file=sys.stderr)
            failed = 1
        else:
            for warning in lib.warnings:
                print(warning, file=sys.stderr)
            print(f"{path}: ok: library {lib.name} ({lib.language}), {len(lib.functions)} functions, "
                  f"{len(lib.classes)} classes")
    return failed


def _init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import UsageError
    from .draft import draft

    if Path(args.output).exists() and not args.force:
        raise UsageError(f"{args.output} exists; give --force to overwrite it")
    text = draft(args.sources, args.output, name=args.name)
    routines = sum(1 for line in text.splitlines() if line.startswith("  ") and not line.startswith("   "))
    print(f"{args.output}: draft with {routines} routines and {text.count('TODO')} TODO marks; "
          f"check it with: wrapgen check {args.output}")
    return 0
