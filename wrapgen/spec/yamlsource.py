"""YAML to plain Python data, remembering where in the file every key and value stood."""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import SpecError, SpecIssue

Path = tuple[str | int, ...]


@dataclass
class Located:
    """Plain data from a YAML document plus the 1-based (line, column) of each value and key by path."""

    file: str
    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    flow: set[Path] = field(default_factory=set)  # mappings and lists written inline, {..} or [..]

    def where(self, path: Path, key: bool = False) -> tuple[int, int]:
        """Position of the value (or key) at path, else of the nearest enclosing value that has one."""
        table = self.keys if key else self.values
        if path in table:
            return table[path]
        for n in range(len(path), -1, -1):
            if path[:n] in self.values:
                return self.values[path[:n]]
        return (0, 0)

    def issue(self, path: Path, message: str, key: bool = False) -> SpecIssue:
        """A SpecIssue located at path."""
        line, column = self.where(path, key)
        return SpecIssue(self.file, line, column, dotted(path), message)


def dotted(path: Path) -> str:
    """('functions', 'f', 'args', 'a', 'shape', 1) -> 'functions.f.args.a.shape[1]'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_source(path: str | os.PathLike[str], what: str = "spec") -> str:
    """A YAML file's text, or a SpecError saying why it cannot be read (missing, not UTF-8)."""
    p = pathlib.Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([SpecIssue(str(p), 0, 0, "", f"cannot read {what}: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise SpecError([SpecIssue(str(p), 0, 0, "", f"not UTF-8 text: {exc.reason} at byte {exc.start}")]) from None


def load_located(text: str, file: str) -> Located:
    """Parse one YAML document; syntax errors and duplicate keys become a SpecError with positions."""
    try:
        # libyaml's composer when PyYAML has it (10x faster on a 10 000-step pipeline); same nodes, same marks
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise SpecError([SpecIssue(file, line, col, "", f"invalid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([SpecIssue(file, 0, 0, "", f"invalid YAML: {exc}")]) from None
    located = Located(file, None)
    if node is None:
        raise SpecError([SpecIssue(file, 1, 1, "", "the file is empty; expected a mapping with name, language, ...")])
    issues: list[SpecIssue] = []
    budget = _Budget(max(MAX_VALUES, 4 * text.count("\n") + 100))
    try:
        located.data = _convert(node, (), located, issues, yaml.SafeLoader(""), budget)
    except _TooBig as exc:
        raise SpecError([SpecIssue(file, exc.line, exc.column, "",
                                   f"YAML aliases expand to more than {budget.limit} values (an alias bomb?); "
                                   "write the repeated parts out or use fewer aliases")]) from None
    except RecursionError:
        raise SpecError([SpecIssue(file, 0, 0, "", "YAML nested too deeply")]) from None
    if issues:
        raise SpecError(issues)
    return located


MAX_VALUES = 100_000  # values after alias expansion (a 1 KiB billion-laughs file would make billions)


class _TooBig(Exception):
    def __init__(self, line: int, column: int) -> None:
        self.line, self.column = line, column


@dataclass
class _Budget:
    limit: int
    used: int = 0


def _convert(node: yaml.Node, path: Path, located: Located, issues: list[SpecIssue], loader: yaml.SafeLoader,
             budget: _Budget) -> Any:
    budget.used += 1
    if budget.used > budget.limit:
        raise _TooBig(node.start_mark.line + 1, node.start_mark.column + 1)
    located.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if getattr(node, "flow_style", False):
        located.flow.add(path)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            try:
                key = _scalar(key_node, loader)
            except yaml.YAMLError:
                key = None  # refused just below, like any key that is not a plain scalar
            if not isinstance(key, (str, int, float, bool)) or key_node.tag == "tag:yaml.org,2002:merge":
                issues.append(SpecIssue(located.file, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                        dotted(path), "keys must be plain scalars"))
                continue
            key = str(key) if not isinstance(key, str) else key
            child = (*path, key)
            if key in out:
                first = located.keys[child]
                issues.append(SpecIssue(located.file, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                        dotted(child), f"duplicate key (first given at line {first[0]})"))
                continue
            located.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _convert(value_node, child, located, issues, loader, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), located, issues, loader, budget) for i, item in enumerate(node.value)]
    try:
        return _scalar(node, loader)
    except yaml.YAMLError:
        issues.append(SpecIssue(located.file, node.start_mark.line + 1, node.start_mark.column + 1, dotted(path),
                                f"the YAML tag {node.tag!r} is not allowed in a spec: plain values only"))
        return None


def _scalar(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return node  # a non-scalar used as a key; reported by the caller
    return loader.construct_object(node, deep=True)
