"""RSL tokens, with positions: sans-IO, a string in and a list of tokens out."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import RSLError
from .ast import Pos

# Characters that end an unquoted literal (GT2 RSL's special characters, plus whitespace).
SPECIAL = set('+&|()=<>!"\'^#$') | set(" \t\r\n\f\v")
OPERATORS = ("!=", "<=", ">=", "=", "<", ">")
MAX_LENGTH = 1 << 20  # characters; a longer RSL is refused before it is read (GRAM's error 2)


@dataclass(frozen=True)
class Token:
    """kind: ( ) & | + op # $( str end; text: the operator or the literal's value."""

    kind: str
    text: str
    pos: Pos
    quoted: bool = False


def tokens(text: str) -> list[Token]:
    """The tokens of text; an RSLError names the line and column of the first thing that is not RSL."""
    if len(text) > MAX_LENGTH:
        raise RSLError(f"the RSL is {len(text)} characters long; at most {MAX_LENGTH} are accepted", code=2)
    out: list[Token] = []
    i, line, start = 0, 1, 0  # start: index of the current line's first character
    n = len(text)

    def pos(at: int) -> Pos:
        return Pos(line, at - start + 1)

    while i < n:
        c = text[i]
        if c == "\n":
            i, line, start = i + 1, line + 1, i + 1
            continue
        if c.isspace():
            i += 1
            continue
        if text.startswith("(*", i):  # a comment, to the matching *) (they do not nest)
            end = text.find("*)", i + 2)
            if end < 0:
                raise RSLError(f"{pos(i)}: comment '(*' is never closed with '*)'", line=line, column=i - start + 1)
            for j in range(i, end):
                if text[j] == "\n":
                    line, start = line + 1, j + 1
            i = end + 2
            continue
        if c in "()&|+#":
            out.append(Token(c, c, pos(i)))
            i += 1
            continue
        if c == "$":
            if not text.startswith("$(", i):
                raise RSLError(f"{pos(i)}: '$' must start a substitution $(NAME); quote it for a literal '$'",
                               line=line, column=i - start + 1)
            out.append(Token("$(", "$(", pos(i)))
            i += 2
            continue
        op = next((o for o in OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            out.append(Token("op", op, pos(i)))
            i += len(op)
            continue
        if c == "!":
            raise RSLError(f"{pos(i)}: '!' is only an operator as '!='", line=line, column=i - start + 1)
        if c in "\"'":
            at = pos(i)
            value, i, line, start = _quoted(text, i, c, line, start)
            out.append(Token("str", value, at, quoted=True))
            continue
        if c == "^":  # ^X...X: a literal delimited by a character of the user's choice
            if i + 1 >= n:
                raise RSLError(f"{pos(i)}: '^' must be followed by a delimiter character", line=line,
                               column=i - start + 1)
            at = pos(i)
            value, i, line, start = _quoted(text, i + 1, text[i + 1], line, start)
            out.append(Token("str", value, at, quoted=True))
            continue
        j = i
        while j < n and text[j] not in SPECIAL:
            j += 1
        out.append(Token("str", text[i:j], pos(i)))
        i = j
    out.append(Token("end", "", pos(n)))
    return out


def _quoted(text: str, i: int, quote: str, line: int, start: int) -> tuple[str, int, int, int]:
    """The value of a literal quoted by `quote` at text[i] (a doubled quote stands for one); (value, next index,
    line, line start)."""
    at_line, at_col = line, i - start + 1
    parts, j = [], i + 1
    while True:
        k = text.find(quote, j)
        if k < 0:
            raise RSLError(f"line {at_line}, column {at_col}: the string opened by {quote} is never closed",
                           line=at_line, column=at_col)
        for m in range(j, k):
            if text[m] == "\n":
                line, start = line + 1, m + 1
        parts.append(text[j:k])
        if text.startswith(quote * 2, k):
            parts.append(quote)
            j = k + 2
            continue
        return "".join(parts), k + 1, line, start
