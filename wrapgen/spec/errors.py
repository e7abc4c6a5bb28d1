"""Errors raised by wrapgen.spec."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import WrapgenError


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a spec file, located as precisely as the YAML allows."""

    file: str
    line: int  # 1-based; 0 when unknown
    column: int  # 1-based; 0 when unknown
    field: str  # dotted path such as functions.heat_step.args.u.intent ('' for the document)
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class SpecError(WrapgenError):
    """A spec file that does not validate; each line names file:line:column, the field and what was expected."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))
