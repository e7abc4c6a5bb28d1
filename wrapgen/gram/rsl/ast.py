"""The RSL syntax tree: what the parser makes and the unparser prints (positions kept for error messages)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class Pos:
    """1-based line and column in the RSL text."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}"


@dataclass(frozen=True)
class Literal:
    """A string value, quoted or not in the text."""

    text: str
    quoted: bool = False
    pos: Pos = field(default=Pos(0, 0), compare=False)


@dataclass(frozen=True)
class Variable:
    """$(NAME): a substitution, resolved when the request is evaluated."""

    name: str
    pos: Pos = field(default=Pos(0, 0), compare=False)


@dataclass(frozen=True)
class Concat:
    """a # b: the parts joined after substitution."""

    parts: tuple[Value, ...]
    pos: Pos = field(default=Pos(0, 0), compare=False)


@dataclass(frozen=True)
class Sequence:
    """( v1 v2 ... ): a parenthesized list of values (environment pairs, staging pairs)."""

    items: tuple[Value, ...]
    pos: Pos = field(default=Pos(0, 0), compare=False)


Value = Union[Literal, Variable, Concat, Sequence]


@dataclass(frozen=True)
class Relation:
    """(attribute op value value ...)."""

    attribute: str
    op: str
    values: tuple[Value, ...]
    pos: Pos = field(default=Pos(0, 0), compare=False)

    @property
    def key(self) -> str:
        """The attribute as GRAM compares names: lower case, underscores dropped (maxWallTime = max_wall_time)."""
        return canonical(self.attribute)


@dataclass(frozen=True)
class Boolean:
    """& (a request: every operand), | (any) or + (a multi-request: several requests) over operands."""

    op: str
    operands: tuple[Relation | Boolean, ...]
    pos: Pos = field(default=Pos(0, 0), compare=False)

    def relations(self) -> list[Relation]:
        """The request's own relations (not those of nested requests)."""
        return [o for o in self.operands if isinstance(o, Relation)]


def canonical(name: str) -> str:
    """An attribute name as GRAM compares it."""
    return name.replace("_", "").lower()
