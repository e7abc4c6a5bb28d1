"""RSL text to a syntax tree (recursive descent over lexer tokens; sans-IO).

Grammar (GT2 RSL 1.0, as GRAM5 reads it):
    spec      := ('&' | '|' | '+') operand+ | relation
    operand   := relation | '(' spec ')'
    relation  := '(' attribute op value+ ')'
    value     := '(' value* ')' | simple ('#' simple)*
    simple    := literal | '$(' simple ('#' simple)* ')'
"""

from __future__ import annotations

from ..errors import RSLError
from .ast import Boolean, Concat, Literal, Pos, Relation, Sequence, Value, Variable
from .lexer import Token, tokens

MAX_DEPTH = 64  # nested parentheses; deeper input is an attack on the parser, not a job


def parse(text: str) -> Boolean:
    """The RSL in text as a tree whose root is a Boolean (a lone relation becomes a one-relation '&')."""
    if not text.strip():
        raise RSLError("the RSL is empty", code=42)
    p = _Parser(tokens(text))
    spec = p.spec(0)
    p.expect("end", "the end of the RSL")
    return spec if isinstance(spec, Boolean) else Boolean("&", (spec,), spec.pos)


class _Parser:
    def __init__(self, toks: list[Token]) -> None:
        self.toks, self.i = toks, 0

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def _error(self, expected: str, tok: Token | None = None) -> RSLError:
        t = tok or self.tok
        got = "the end of the RSL" if t.kind == "end" else repr(t.text)
        return RSLError(f"{t.pos}: expected {expected}, got {got}", line=t.pos.line, column=t.pos.column)

    def expect(self, kind: str, what: str) -> Token:
        if self.tok.kind != kind:
            raise self._error(what)
        t = self.tok
        self.i += 1
        return t

    def spec(self, depth: int) -> Boolean | Relation:
        if depth > MAX_DEPTH:
            raise self._error(f"at most {MAX_DEPTH} nested parentheses")
        t = self.tok
        if t.kind in ("&", "|", "+"):
            self.i += 1
            operands: list[Boolean | Relation] = []
            while self.tok.kind == "(":
                operands.append(self.operand(depth + 1))
            if not operands:
                raise self._error(f"a relation '(attribute = value)' after {t.text!r}")
            return Boolean(t.text, tuple(operands), t.pos)
        if t.kind == "(":
            return self.relation(depth + 1)
        raise self._error("'&', '+', '|' or '(' to start a request")

    def operand(self, depth: int) -> Boolean | Relation:
        # '(' then either a nested spec ('&', '|', '+') or an attribute name
        if self.toks[self.i + 1].kind in ("&", "|", "+"):
            self.expect("(", "'('")
            inner = self.spec(depth + 1)
            self.expect(")", "')' to close the nested request")
            return inner
        return self.relation(depth)

    def relation(self, depth: int) -> Relation:
        open_ = self.expect("(", "'('")
        name = self.tok
        if name.kind != "str" or name.quoted or not name.text:
            raise self._error("an attribute name")
        self.i += 1
        op = self.expect("op", f"a relation operator (=, !=, <, >, <=, >=) after {name.text!r}")
        values: list[Value] = []
        while self.tok.kind in ("str", "$(", "("):
            values.append(self.value(depth + 1))
        if not values:
            raise self._error(f"a value for {name.text!r}")
        self.expect(")", f"')' to close the relation {name.text!r} opened at {open_.pos}")
        return Relation(name.text, op.text, tuple(values), name.pos)

    def value(self, depth: int) -> Value:
        if depth > MAX_DEPTH:
            raise self._error(f"at most {MAX_DEPTH} nested parentheses")
        t = self.tok
        if t.kind == "(":
            self.i += 1
            items: list[Value] = []
            while self.tok.kind in ("str", "$(", "("):
                items.append(self.value(depth + 1))
            self.expect(")", "')' to close the list of values")
            return Sequence(tuple(items), t.pos)
        return self.concatenation(depth)

    def concatenation(self, depth: int) -> Value:
        first = self.simple(depth)
        parts = [first]
        while self.tok.kind == "#":
            self.i += 1
            if self.tok.kind not in ("str", "$("):
                raise self._error("a value after '#'")
            parts.append(self.simple(depth))
        return first if len(parts) == 1 else Concat(tuple(parts), _pos(first))

    def simple(self, depth: int) -> Value:
        t = self.tok
        if t.kind == "str":
            self.i += 1
            return Literal(t.text, t.quoted, t.pos)
        if t.kind == "$(":
            self.i += 1
            name = self.tok
            if name.kind != "str" or not name.text:
                raise self._error("a variable name after '$('")
            self.i += 1
            self.expect(")", f"')' to close $({name.text}")
            return Variable(name.text, t.pos)
        raise self._error("a value")


def _pos(v: Value) -> Pos:
    return v.pos
