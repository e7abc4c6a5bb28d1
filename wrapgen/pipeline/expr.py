"""Python steps' expressions: checked when the file is read (syntax, and every name an input, a param or numpy),
evaluated over the step's inputs with a small set of builtins. Not a sandbox: a pipeline file runs the code it
names, kernels and expressions alike (SECURITY.md)."""

from __future__ import annotations

import ast
import builtins
from typing import Any

from .errors import PipelineError

MAX_LENGTH = 4096
#: the builtins an expression may use, besides np
BUILTINS = ("abs", "all", "any", "bool", "dict", "divmod", "enumerate", "float", "int", "len", "list", "max", "min",
            "pow", "range", "round", "sorted", "str", "sum", "tuple", "zip")


class ExpressionError(PipelineError):
    """An expression that does not parse."""


def names_of(text: str) -> set[str]:
    """The free names an expression reads (np and the allowed builtins left out); ExpressionError if it is not
    one Python expression."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; at most {MAX_LENGTH}")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a Python expression: {exc.msg} at column {exc.offset}") from None
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return used - bound - {"np"} - set(BUILTINS)


def evaluate(text: str, values: dict[str, Any]) -> Any:
    """The expression's value over values (and np)."""
    import numpy as np

    scope = {"__builtins__": {n: getattr(builtins, n) for n in BUILTINS}, "np": np}
    return eval(compile(text, "<python step>", "eval"), scope, dict(values))  # noqa: S307 - the file's own code
