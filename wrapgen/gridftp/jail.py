"""The server's file system view: every client path resolved inside the root, never outside it.

Paths are virtual ('/' is the root); '..' cannot climb above it, and a symbolic link that leads outside
the root (directly or through a parent) is refused like a missing file, with 550.
"""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path

from .errors import GridFTPError


class PathRefused(GridFTPError):
    """A path that leaves the root or cannot be used; the text is the 550 reply."""


class Jail:
    """Virtual paths under a real root directory."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise GridFTPError(f"server root {root} is not a directory")

    def virtual(self, cwd: str, path: str) -> str:
        """The normalised virtual path of `path` seen from virtual directory `cwd`."""
        if "\0" in path:
            raise PathRefused("a path may not contain NUL")
        joined = posixpath.join(cwd, path) if path else cwd
        norm = posixpath.normpath("/" + joined.lstrip("/"))
        return norm if norm.startswith("/") and not norm.startswith("//") else "/" + norm.lstrip("/")

    def real(self, cwd: str, path: str, must_exist: bool = False) -> Path:
        """The real path for a client path; refuses escapes through '..' or symbolic links."""
        v = self.virtual(cwd, path)
        # Fast path (every file of a transfer comes here): walk down from the resolved root with lstat. A
        # normalised virtual path has no '..', so without a symbolic link on the way it cannot leave the root.
        current = str(self.root)
        parts = [p for p in v.split("/") if p]
        for i, part in enumerate(parts):
            step = current + "/" + part
            try:
                mode = os.lstat(step).st_mode
            except (FileNotFoundError, NotADirectoryError):
                if must_exist:
                    raise PathRefused(f"{v}: no such file or directory") from None
                return Path(current, *parts[i:])  # nothing below a missing name can be a link
            if stat.S_ISLNK(mode):
                return self._real_through_links(v, must_exist)
            current = step
        return Path(current)

    def _real_through_links(self, v: str, must_exist: bool) -> Path:
        # Resolve what exists (symlinks included); a missing tail is checked through its parent.
        resolved = (self.root / v.lstrip("/")).resolve(strict=False)
        if not (resolved == self.root or self.root in resolved.parents):
            raise PathRefused(f"{v}: no such file or directory")  # do not reveal what lies outside
        if must_exist and not os.path.lexists(resolved):
            raise PathRefused(f"{v}: no such file or directory")
        return resolved

    def inside(self, real: Path) -> bool:
        """Whether a real path (after following links) is inside the root."""
        resolved = real.resolve(strict=False)
        return resolved == self.root or self.root in resolved.parents

    def to_virtual(self, real: Path) -> str:
        """The virtual path of a real path inside the root."""
        rel = real.resolve().relative_to(self.root)
        return "/" + str(rel) if str(rel) != "." else "/"
