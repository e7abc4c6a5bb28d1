"""Integer expressions over a function's arguments, for shapes and computed (hide) arguments.

The language is a small, safe subset of Python expression syntax, close to f2py's `depend`/`check`:
integer literals, argument names, + - * // % and unary minus, parentheses, and the calls
shape(a, i), size(a), len(a) (= shape(a, 0)), min(x, y, ...), max(x, y, ...).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass

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
        return _eval(self.tree, scalars, shapes)

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


def _eval(node: ast.AST, scalars: Mapping[str, int], shapes: Mapping[str, tuple[int, ...]]) -> int:
    if isinstance(node, ast.Constant):
        return int(node.value)
    if isinstance(node, ast.Name):
        return int(scalars[node.id])
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, scalars, shapes)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, scalars, shapes), _eval(node.right, scalars, shapes)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if b == 0:
            raise ZeroDivisionError(f"division by zero in {ast.unparse(node)}")
        return a // b if isinstance(node.op, ast.FloorDiv) else a % b
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    name = node.func.id
    if name in ARRAY_FUNCTIONS:
        shape = shapes[node.args[0].id]  # type: ignore[attr-defined]
        if name == "shape":
            dim = node.args[1].value  # type: ignore[attr-defined]
            return shape[dim] if dim < len(shape) else 1
        if name == "len":
            return shape[0] if shape else 1
        size = 1
        for extent in shape:
            size *= extent
        return size
    values = [_eval(a, scalars, shapes) for a in node.args]
    return min(values) if name == "min" else max(values)
