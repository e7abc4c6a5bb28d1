"""The RSL attribute table, read from data files in GRAM5's RSL validation format (.rvf), not written as code:
what each attribute is, whether it is required, its default, its allowed values, how it is read and the failure
code of a bad value. Backends may add their own file (as GRAM5's LRMs add slurm.rvf)."""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ..errors import RSLError
from .ast import canonical

TYPES = ("string", "strings", "int", "yesno", "pairs", "stagein", "stageout")
SUBMIT = "GLOBUS_GRAM_JOB_SUBMIT"


@dataclass(frozen=True)
class Attribute:
    """One attribute's row of the table."""

    name: str
    description: str = ""
    type: str = "string"
    code: int = 1
    default: str | None = None
    values: tuple[str, ...] = ()
    valid_when: tuple[str, ...] = ()
    required_when: tuple[str, ...] = ()
    default_when: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        """Needed in every submission."""
        return SUBMIT in self.required_when


def parse_rvf(text: str, source: str = "<rvf>") -> list[Attribute]:
    """The attributes of an .rvf file: blocks of 'Key: value' lines, a value continuing on indented lines,
    a quoted value running to its closing quote."""
    rows: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    key = ""
    open_quote = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if open_quote:
            current[key] += " " + line.strip()  # type: ignore[index]
            open_quote = current[key].count('"') % 2 == 1  # type: ignore[index]
            continue
        if not line.strip():
            current = None
            continue
        if line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and current is not None and key:
            current[key] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise RSLError(f"{source}:{lineno}: expected 'Key: value', got {raw!r}", code=152)
        key, value = name.strip(), value.strip()
        if key == "Attribute":
            current = {}
            rows.append(current)
        elif current is None:
            raise RSLError(f"{source}:{lineno}: {key!r} before any 'Attribute:' line", code=152)
        current[key] = value
        open_quote = value.count('"') % 2 == 1
    out = []
    for row in rows:
        kind = row.get("Type", "string")
        if kind not in TYPES:
            raise RSLError(f"{source}: attribute {row['Attribute']!r}: Type {kind!r}; expected one of "
                           f"{', '.join(TYPES)}", code=152)
        out.append(Attribute(
            name=row["Attribute"], description=row.get("Description", "").strip('"'), type=kind,
            code=int(row.get("Code", "1")), default=row["Default"].strip('"') if "Default" in row else None,
            values=tuple(row.get("Values", "").split()), valid_when=tuple(row.get("ValidWhen", "").split()),
            required_when=tuple(row.get("RequiredWhen", "").split()),
            default_when=tuple(row.get("DefaultWhen", "").split())))
    return out


class AttributeTable:
    """Attributes by canonical name (case and underscores ignored)."""

    def __init__(self, attributes: Iterable[Attribute]) -> None:
        self.by_key: Mapping[str, Attribute] = types.MappingProxyType({canonical(a.name): a for a in attributes})

    def get(self, name: str) -> Attribute | None:
        """The attribute named name, in any spelling GRAM accepts."""
        return self.by_key.get(canonical(name))

    def __iter__(self):
        return iter(self.by_key.values())


@cache
def table(*extra: str) -> AttributeTable:
    """GRAM's base attributes (data/gram.rvf) plus those of the backend files named (data/<name>.rvf)."""
    data = resources.files("wrapgen.gram").joinpath("data")
    rows: list[Attribute] = []
    for name in ("gram", *extra):
        rows += parse_rvf(data.joinpath(f"{name}.rvf").read_text(), f"{name}.rvf")
    return AttributeTable(rows)
