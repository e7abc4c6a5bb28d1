"""Integer expressions over a function's arguments, for shapes and computed (hide) arguments.

The language is a small, safe subset of Python expression syntax, close to f2py's `depend`/`check`:
integer literals, argument names, + - * // % and unary minus, parentheses, and the calls
shape(a, i), size(a), len(a) (= shape(a, 0)), min(x, y, ...), max(x, y, ...).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: A shape item meaning "whatever extent the caller's array has" (Fortran assumed shape, `u(:, :)`).
ASSUMED = ":"

ARRAY_FUNCTIONS = {"shape": 2, "size": 1, "len": 1}  # name -> number of arguments
SCALAR_FUNCTIONS = ("min", "max")
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Mod: "%"}


class ExprError(ValueError):
    """An expression that does not parse or uses something outside the language."""


@dataclass(frozen=True)
class Expr:
    """A parsed expression; `scalars` and `arrays` are the argument names it reads."""

    text: str
    tree: ast.expr
    scalars: frozenset[str]
    arrays: frozenset[str]

    def evaluate(self, scalars: Mapping[str, int], shapes: Mapping[str, tuple[int, ...]]) -> int:
        """Value given the scalar arguments and the shapes of the array arguments."""
        return _Evaluator(scalars, shapes, self.text).visit(self.tree)

    def __str__(self) -> str:
        return self.text


MAX_TEXT = 500  # characters: shape and value expressions are short; a huge one is an attack on the parser


def parse(text: str | int) -> Expr:
    """Parse and check an expression; raises ExprError saying what is wrong."""
    if isinstance(text, bool):
        raise ExprError(f"expected an integer expression, got {text!r}")
    if isinstance(text, int):
        text = str(text)
    if not isinstance(text, str) or not text.strip():
        raise ExprError(f"expected an integer expression, got {text!r}")
    if len(text) > MAX_TEXT:
        raise ExprError(f"expression of {len(text)} characters; at most {MAX_TEXT} are allowed")
    scalars: set[str] = set()
    arrays: set[str] = set()
    try:
        tree = ast.parse(text.strip(), mode="eval").body
        _check(tree, text, scalars, arrays)
    except SyntaxError as exc:
        raise ExprError(f"cannot parse {text!r}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ExprError(f"expression {text[:40]!r}... is nested too deeply") from None
    return Expr(text.strip(), tree, frozenset(scalars), frozenset(arrays))


def _check(node: ast.AST, text: str, scalars: set[str], arrays: set[str]) -> None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise ExprError(f"in {text!r}: only integer literals are allowed, got {node.value!r}")
    elif isinstance(node, ast.Name):
        scalars.add(node.id)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            hint = " (use // for integer division)" if isinstance(node.op, ast.Div) else ""
            raise ExprError(f"in {text!r}: operator {type(node.op).__name__} is not allowed{hint}")
        _check(node.left, text, scalars, arrays)
        _check(node.right, text, scalars, arrays)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        _check(node.operand, text, scalars, arrays)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        name = node.func.id
        if name in ARRAY_FUNCTIONS:
            want = ARRAY_FUNCTIONS[name]
            if len(node.args) != want or not isinstance(node.args[0], ast.Name):
                usage = "shape(array, dim)" if name == "shape" else f"{name}(array)"
                raise ExprError(f"in {text!r}: expected {usage}")
            arrays.add(node.args[0].id)
            if name == "shape":
                dim = node.args[1]
                if not (isinstance(dim, ast.Constant) and isinstance(dim.value, int) and dim.value >= 0):
                    raise ExprError(f"in {text!r}: the dimension in shape() must be a literal integer >= 0")
        elif name in SCALAR_FUNCTIONS:
            if not node.args:
                raise ExprError(f"in {text!r}: {name}() needs at least one argument")
            for arg in node.args:
                _check(arg, text, scalars, arrays)
        else:
            allowed = ", ".join([*ARRAY_FUNCTIONS, *SCALAR_FUNCTIONS])
            raise ExprError(f"in {text!r}: unknown function {name!r}; expected one of {allowed}")
    else:
        raise ExprError(f"in {text!r}: {type(node).__name__} is not allowed in an integer expression")


class Visitor(Generic[T]):
    """One walk over a checked expression tree; the evaluator and the f2py and C++ emitters differ only in what
    they make of each kind of node (the nodes _check allows, and no others)."""

    def constant(self, value: int) -> T:
        """An integer literal."""
        raise NotImplementedError

    def name(self, name: str) -> T:
        """A scalar argument."""
        raise NotImplementedError

    def negate(self, operand: T) -> T:
        """-x."""
        raise NotImplementedError

    def binary(self, left: T, op: str, right: T) -> T:
        """left op right, op one of + - * // %."""
        raise NotImplementedError

    def extent(self, array: str, dim: int) -> T:
        """shape(array, dim) (len(array) is extent 0)."""
        raise NotImplementedError

    def size(self, array: str) -> T:
        """size(array): the product of its extents."""
        raise NotImplementedError

    def fold(self, function: str, left: T, right: T) -> T:
        """min or max of two values (longer calls fold left to right)."""
        raise NotImplementedError

    def visit(self, node: ast.AST) -> T:
        """What this visitor makes of node."""
        if isinstance(node, ast.Constant):
            return self.constant(int(node.value))
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.UnaryOp):
            inner = self.visit(node.operand)
            return self.negate(inner) if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            return self.binary(self.visit(node.left), _BINOPS[type(node.op)], self.visit(node.right))
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        name = node.func.id
        if name in ARRAY_FUNCTIONS:
            array = node.args[0].id  # type: ignore[attr-defined]
            if name == "size":
                return self.size(array)
            return self.extent(array, node.args[1].value if name == "shape" else 0)  # type: ignore[attr-defined]
        values = [self.visit(a) for a in node.args]
        out = values[0]
        for v in values[1:]:
            out = self.fold(name, out, v)
        return out


class InfixEmitter(Visitor[str]):
    """The expression as infix source text (f2py dimensions, Python): integers and names as they are, operators
    parenthesised; a language's spelling of integer division, extents, sizes and min/max is its subclass's."""

    DIVIDE = "//"  # how the target writes integer division

    def constant(self, value: int) -> str:
        return str(value)

    def name(self, name: str) -> str:
        return name

    def negate(self, operand: str) -> str:
        return f"(-{operand})"

    def binary(self, left: str, op: str, right: str) -> str:
        return f"({left} {self.DIVIDE if op == '//' else op} {right})"


class _Evaluator(Visitor[int]):
    """The value, given the scalars and the arrays' shapes (a missing dimension counts as 1)."""

    def __init__(self, scalars: Mapping[str, int], shapes: Mapping[str, tuple[int, ...]], text: str) -> None:
        self.scalars, self.shapes, self.text = scalars, shapes, text

    def constant(self, value: int) -> int:
        return value

    def name(self, name: str) -> int:
        return int(self.scalars[name])

    def negate(self, operand: int) -> int:
        return -operand

    def binary(self, left: int, op: str, right: int) -> int:
        if op in ("//", "%") and right == 0:
            raise ZeroDivisionError(f"division by zero in {self.text}")
        return {"+": operator.add, "-": operator.sub, "*": operator.mul, "//": operator.floordiv,
                "%": operator.mod}[op](left, right)

    def extent(self, array: str, dim: int) -> int:
        shape = self.shapes[array]
        return shape[dim] if dim < len(shape) else 1

    def size(self, array: str) -> int:
        return math.prod(self.shapes[array])

    def fold(self, function: str, left: int, right: int) -> int:
        return min(left, right) if function == "min" else max(left, right)
