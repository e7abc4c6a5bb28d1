"""Find the first compiler error in a build log and show it with the offending source line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# gcc/g++/clang: "file:line:col: error: message" on one line.
_GCC = re.compile(r"^(?P<file>[^\s:][^:\n]*):(?P<line>\d+):(?P<col>\d+): (?:fatal )?error: (?P<msg>.*)$", re.M)
# gfortran: "file:line:col:" alone, then the source excerpt, then "Error: message" a few lines below.
_GFORTRAN_AT = re.compile(r"^(?P<file>[^\s:][^:\n]*):(?P<line>\d+):(?P<col>\d+):\s*$", re.M)
_GFORTRAN_MSG = re.compile(r"^(?:Fatal )?Error: (?P<msg>.*)$", re.M)


@dataclass(frozen=True)
class CompilerError:
    """The first error a compiler reported."""

    file: str
    line: int
    column: int
    message: str

    def render(self) -> str:
        """'file:line:col: message' plus the source line and a caret under the column."""
        text = f"{self.file}:{self.line}:{self.column}: {self.message}"
        try:
            source = Path(self.file).read_text(errors="replace").splitlines()[self.line - 1]
        except (OSError, IndexError):
            return text
        return f"{text}\n    {source}\n    {' ' * max(self.column - 1, 0)}^"


def first_error(log: str) -> CompilerError | None:
    """The earliest error in the log, from either compiler family."""
    found: list[tuple[int, CompilerError]] = []
    if m := _GCC.search(log):
        found.append((m.start(), CompilerError(m["file"], int(m["line"]), int(m["col"]), m["msg"].strip())))
    for at in _GFORTRAN_AT.finditer(log):
        msg = _GFORTRAN_MSG.search(log, at.end())
        if msg and log.count("\n", at.end(), msg.start()) <= 6:
            found.append((at.start(), CompilerError(at["file"], int(at["line"]), int(at["col"]), msg["msg"].strip())))
            break
    return min(found, key=lambda f: f[0])[1] if found else None
