"""grid-mapfile: which grid identities (DNs) map to which local accounts, and the authorization decision."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import GSIError, NotAuthorized

_LINE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)"\s*(.*?)\s*$|^\s*(\S+)\s+(.*?)\s*$')


@dataclass
class Gridmap:
    """A parsed grid-mapfile."""

    path: Path
    entries: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Gridmap:
        """Read a grid-mapfile; a line that cannot be read is an error naming file and line."""
        p = Path(path)
        try:
            text = p.read_text()
        except OSError as exc:
            raise GSIError(f"cannot read grid-mapfile {p}: {exc.strerror}") from None
        gm = cls(p)
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            m = _LINE.match(line)
            if not m:
                raise GSIError(f"{p}:{lineno}: cannot read {raw!r}; expected \"DN\" account[,account...]")
            dn = m.group(1) if m.group(1) is not None else m.group(3)
            dn = re.sub(r"\\(.)", r"\1", dn)
            accounts_text = m.group(2) if m.group(1) is not None else m.group(4)
            accounts = [a for a in re.split(r"[,\s]+", accounts_text) if a]
            if not dn.startswith("/") or not accounts:
                raise GSIError(f"{p}:{lineno}: {raw!r} needs a quoted DN starting with '/' and at least one account")
            gm.entries.setdefault(dn, [])
            gm.entries[dn] += [a for a in accounts if a not in gm.entries[dn]]
        return gm

    def accounts(self, dn: str) -> list[str]:
        """Local accounts for a DN, first the default one; [] if it is not listed."""
        return list(self.entries.get(dn, []))

    def authorize(self, dn: str, account: str | None = None) -> str:
        """The local account a DN may use (the first, or the one asked for); GSIError says why not."""
        names = self.accounts(dn)
        if not names:
            raise NotAuthorized(f"{dn} is not in grid-mapfile {self.path}",
                                f"{dn} is not in the server's grid-mapfile")
        if account is None:
            return names[0]
        if account not in names:
            raise NotAuthorized(f"{dn} may not act as {account!r}: grid-mapfile {self.path} allows {', '.join(names)}",
                                f"{dn} may not act as {account!r} (the server's grid-mapfile does not allow it)")
        return account
