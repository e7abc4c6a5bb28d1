"""JobDescription: a job as a typed model, to and from RSL and JSON (lossless on what both can say).

Arguments are an argv list and stay one (never a shell line). Strings may hold GRAM's $(NAME) references
(HOME, LOGNAME, SCRATCH_DIRECTORY, ...): the job manager resolves them when it runs the job. Where wrapgen's
defaults differ from GRAM5's it is on purpose: a job without `directory` gets a fresh directory of its own (not
$(HOME)), and stdout/stderr without a target go to files the job manager keeps with the job (not /dev/null), so a
job's output is never lost.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import RSLError
from .rsl import ast as A
from .rsl.evaluate import evaluate
from .rsl.parser import parse
from .rsl.unparse import unparse

_REF = re.compile(r"\$\(([^()\s#$]+)\)")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# JobDescription field -> RSL attribute, for the fields whose RSL value is the field's value as is.
_PLAIN = ("executable", "arguments", "directory", "stdin", "stdout", "stderr", "count", "host_count", "job_type",
          "max_wall_time", "max_cpu_time", "min_memory", "max_memory", "queue", "project", "file_clean_up",
          "scratch_dir", "two_phase", "expiration", "dry_run", "library_path", "username")
_PAIRS = ("file_stage_in", "file_stage_out")
_COMPAT = ("save_state", "gram_my_job", "proxy_timeout", "savejobdescription", "loglevel", "logpattern",
           "file_stage_in_shared", "max_time")


class JobDescription(BaseModel):
    """What to run, where, with what, for how long, and which files go in and out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    executable: str = Field(min_length=1, description="program to run: a path (relative to directory) or a URL")
    arguments: list[str] = Field(default_factory=list, description="the argv after the program, one item each")
    directory: str | None = Field(None, description="working directory; default: a new directory for this job")
    environment: dict[str, str] = Field(default_factory=dict, description="variables added to the environment")
    stdin: str | None = Field(None, description="standard input: a path or URL (default /dev/null)")
    stdout: str | None = Field(None, description="standard output: a path, or a URL it is staged to "
                                                 "(default: a file kept with the job)")
    stderr: str | None = Field(None, description="standard error, as stdout")
    count: int = Field(1, ge=1, description="processes to start")
    host_count: int | None = Field(None, ge=1, description="nodes to spread them over")
    job_type: Literal["single", "multiple", "mpi", "condor"] = "multiple"
    max_wall_time: int | None = Field(None, ge=0, description="minutes by the clock")
    max_cpu_time: int | None = Field(None, ge=0, description="minutes of CPU time")
    min_memory: int | None = Field(None, ge=0, description="megabytes needed")
    max_memory: int | None = Field(None, ge=0, description="megabytes allowed")
    queue: str | None = None
    project: str | None = None
    file_stage_in: list[tuple[str, str]] = Field(default_factory=list, description="(URL, path) before the job")
    file_stage_out: list[tuple[str, str]] = Field(default_factory=list, description="(path, URL) after the job")
    file_clean_up: list[str] = Field(default_factory=list, description="paths removed when the job ends")
    scratch_dir: str | None = None
    two_phase: int | None = Field(None, ge=0, description="seconds to wait for the commit before running")
    expiration: int = Field(14400, ge=0, description="seconds a finished job's state is kept")
    dry_run: bool = False
    library_path: list[str] = Field(default_factory=list)
    username: str | None = None
    extras: dict[str, str] = Field(default_factory=dict, description="backend-specific attributes (their .rvf)")

    @field_validator("environment")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for name, value in v.items():
            if not _ENV_NAME.fullmatch(name):
                raise ValueError(f"environment name {name!r}: expected letters, digits and '_', not starting "
                                 "with a digit")
            if "\0" in value:
                raise ValueError(f"environment {name}: a value cannot hold a NUL character")
        return v

    @field_validator("executable", "arguments", "directory", "stdin", "stdout", "stderr", "file_clean_up")
    @classmethod
    def _no_nul(cls, v: Any) -> Any:
        for s in v if isinstance(v, list) else [v]:
            if isinstance(s, str) and "\0" in s:
                raise ValueError("a NUL character cannot be passed to a program")
        return v

    def substituted(self, values: dict[str, str]) -> JobDescription:
        """This description with every $(NAME) reference in its strings replaced (RSLError 39 for an unknown)."""
        return type(self)(**_walk(self.model_dump(), values))

    # --- RSL ------------------------------------------------------------------------------------------------
    @classmethod
    def from_rsl(cls, text: str, predefined: dict[str, str] | None = None,
                 backends: tuple[str, ...] = ()) -> JobDescription:
        """The description an RSL request gives; RSLError (with GRAM's code, line and column) if it is not one.
        backends: whose attribute files (data/<name>.rvf) add attributes, kept in `extras`."""
        from .rsl.attributes import table

        values = evaluate(parse(text), predefined, table(*backends))
        return cls.from_attributes(values)

    @classmethod
    def from_attributes(cls, values: dict[str, Any]) -> JobDescription:
        """From evaluate()'s typed attribute values."""
        from .rsl.attributes import table

        base = {a.name for a in table()}
        fields: dict[str, Any] = {k: values[k] for k in _PLAIN if k in values}
        extras = {k: _text(v) for k, v in values.items() if k not in base}
        if extras:
            fields["extras"] = extras
        for k in _PAIRS:
            if k in values:
                fields[k] = list(values[k])
        if "file_stage_in_shared" in values:
            fields["file_stage_in"] = fields.get("file_stage_in", []) + list(values["file_stage_in_shared"])
        if "max_time" in values and "max_wall_time" not in fields:
            fields["max_wall_time"] = values["max_time"]
        if "environment" in values:
            fields["environment"] = dict(values["environment"])
        try:
            return cls(**fields)
        except Exception as exc:  # pydantic's ValidationError: name the attribute, as RSL spells it
            from pydantic import ValidationError

            if isinstance(exc, ValidationError):
                e = exc.errors()[0]
                name = str(e["loc"][0]) if e["loc"] else "?"
                raise RSLError(f"{name}: {e['msg']}", code=_code(name)) from None
            raise

    def to_rsl(self) -> str:
        """One line of RSL that from_rsl() reads back to an equal description."""
        rels: list[A.Relation] = []
        defaults = type(self).model_fields
        for name in _PLAIN:
            v = getattr(self, name)
            if v == defaults[name].get_default(call_default_factory=True) and name not in ("executable",):
                continue
            items = v if isinstance(v, list) else [v]
            rels.append(A.Relation(name, "=", tuple(_value(_text(i)) for i in items)))
        if self.environment:
            rels.append(A.Relation("environment", "=", tuple(
                A.Sequence((A.Literal(k), _value(v))) for k, v in self.environment.items())))
        for name in _PAIRS:
            pairs = getattr(self, name)
            if pairs:
                rels.append(A.Relation(name, "=", tuple(A.Sequence((_value(a), _value(b))) for a, b in pairs)))
        for name, v in self.extras.items():
            rels.append(A.Relation(name, "=", (_value(v),)))
        # arguments = () would not parse: an empty argument list is simply left out
        rels = [r for r in rels if r.values]
        return unparse(A.Boolean("&", tuple(rels)))


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def _value(text: str) -> A.Value:
    """A literal, or, when text holds $(NAME) references, the concatenation that keeps them references."""
    parts: list[A.Value] = []
    pos = 0
    for m in _REF.finditer(text):
        if m.start() > pos:
            parts.append(A.Literal(text[pos:m.start()]))
        parts.append(A.Variable(m.group(1)))
        pos = m.end()
    if pos < len(text) or not parts:
        parts.append(A.Literal(text[pos:]))
    return parts[0] if len(parts) == 1 else A.Concat(tuple(parts))


def substitute(text: str, values: dict[str, str]) -> str:
    """text with its $(NAME) references replaced; RSLError 39 names one values lacks."""
    def one(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            raise RSLError(f"$({m.group(1)}) is not defined (GRAM error 39: the RSL includes variables that could "
                           "not be identified)", code=39)
        return values[m.group(1)]

    return _REF.sub(one, text)


def _walk(v: Any, values: dict[str, str]) -> Any:
    if isinstance(v, str):
        return substitute(v, values)
    if isinstance(v, (list, tuple)):
        return type(v)(_walk(i, values) for i in v)
    if isinstance(v, dict):
        return {k: _walk(i, values) for k, i in v.items()}
    return v


def _code(name: str) -> int:
    from .rsl.attributes import table

    attr = table().get(name)
    return attr.code if attr else 48
