"""Errors raised by wrapgen.gram: each carries GRAM's failure code, so the job manager's replies and a GRAM
client's messages agree."""

from __future__ import annotations

from ..errors import WrapgenError


class GRAMError(WrapgenError):
    """A job submission or job state error; `code` is GRAM's failure code (0 when none applies)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class RSLError(GRAMError):
    """An RSL job description that does not parse or validate; the message names the line and column (or the
    attribute) and what was expected. `code` is GRAM5's: 48 BAD_RSL for syntax, 1 PARAMETER_NOT_SUPPORTED for an
    unknown attribute, 39 RSL_EVALUATION_FAILED for an undefined $(NAME), or the attribute's own code."""

    def __init__(self, message: str, code: int = 48, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message, code)
        self.line, self.column = line, column


class JobNotFound(GRAMError):
    """No such job, or not one the caller may see (GRAM's 156 JOB_CONTACT_NOT_FOUND)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 156)
