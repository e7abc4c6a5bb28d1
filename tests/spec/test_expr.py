"""Shape and hidden-value expressions: what parses, what is refused, and what values come out."""

from __future__ import annotations

import pytest

from wrapgen.spec.expr import ExprError, parse


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("n", 5),
        (7, 7),
        ("n * m + 1", 16),
        ("-n + 10", 5),
        ("n // 2", 2),
        ("n % 3", 2),
        ("max(n - 1, 1)", 4),
        ("min(n, m, 2)", 2),
        ("shape(a, 0)", 4),
        ("shape(a, 1)", 6),
        ("shape(a, 2)", 1),  # a dimension past the rank counts as 1, as in f2py
        ("len(a)", 4),
        ("size(a)", 24),
        ("(n + m) * shape(a, 1)", 48),
    ],
)
def test_values(text, value) -> None:
    assert parse(text).evaluate({"n": 5, "m": 3}, {"a": (4, 6)}) == value


def test_names_are_split_into_scalars_and_arrays() -> None:
    e = parse("max(n, shape(a, 0)) * size(b)")
    assert e.scalars == {"n"} and e.arrays == {"a", "b"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected an integer expression, got ''"),
        (True, "expected an integer expression, got True"),
        ("n +", "cannot parse 'n +'"),
        ("n / 2", "operator Div is not allowed (use // for integer division)"),
        ("n ** 2", "operator Pow is not allowed"),
        ("1.5", "only integer literals are allowed, got 1.5"),
        ("'x'", "only integer literals are allowed, got 'x'"),
        ("a.b", "Attribute is not allowed"),
        ("__import__('os')", "unknown function '__import__'"),
        ("shape(a)", "expected shape(array, dim)"),
        ("shape(a, n)", "the dimension in shape() must be a literal integer >= 0"),
        ("len(a, 1)", "expected len(array)"),
        ("max()", "max() needs at least one argument"),
        ("n if m else 1", "IfExp is not allowed"),
        ("f(x=1)", "Call is not allowed"),
    ],
)
def test_refused(text, message) -> None:
    with pytest.raises(ExprError) as info:
        parse(text)
    assert message in str(info.value)


def test_division_by_zero_names_the_expression() -> None:
    with pytest.raises(ZeroDivisionError, match=r"division by zero in n // m"):
        parse("n // m").evaluate({"n": 1, "m": 0}, {})
