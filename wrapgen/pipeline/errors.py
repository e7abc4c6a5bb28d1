"""Errors raised by wrapgen.pipeline."""

from __future__ import annotations

from ..errors import WrapgenError
from ..spec.errors import SpecIssue


class PipelineError(WrapgenError):
    """A stage-compute-retrieve pipeline error."""


class PipelineFileError(PipelineError):
    """A pipeline file that does not check; each line names file:line:column, the field and what was expected."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class StepFailed(PipelineError):
    """A step failed for good (after its retries); `cause` says why, `transient` whether retrying could help,
    `attempts` how many were made."""

    def __init__(self, node: str, cause: str, transient: bool = False, stderr: str = "") -> None:
        super().__init__(f"{node}: {cause}")
        self.node, self.cause, self.transient, self.stderr = node, cause, transient, stderr
        self.attempts = 1
