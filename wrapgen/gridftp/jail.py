"""The server's file system view: every client path resolved inside the root, never outside it.

Paths are virtual ('/' is the root); '..' cannot climb above it, and a symbolic link that leads outside
the root (directly or through a parent) is refused like a missing file, with 550.

What is checked is what is used. A check by name followed by a use by name is a race: a second session
can swap a checked directory for a symbolic link to '/' between the two (RNFR/RNTO), and the use then
happens outside the root. So a path is resolved one component at a time with `openat(O_PATH | O_NOFOLLOW)`
from a descriptor of the root, links are followed by this code (not the kernel) with the same checks, and
the result is a `Place`: an open descriptor of the parent directory plus a final name, which every
operation uses through `*at()` calls with O_NOFOLLOW. A directory renamed away after it was opened is still
the directory that was checked; a name replaced by a link after the walk makes the operation fail (ELOOP),
never follow it. This is the portable form of `openat2(RESOLVE_BENEATH)` and behaves the same on every
kernel: links inside the root keep working, absolute links work when they point into the root.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from collections import deque
from pathlib import Path

from .errors import GridFTPError

MAX_LINKS = 40  # as the kernel's ELOOP limit
_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


class PathRefused(GridFTPError):
    """A path that leaves the root or cannot be used; the text is the 550 reply."""


class Place:
    """A resolved path: the parent directory (an open descriptor) and the final name inside it.

    `st` is the final name's lstat (after following a final link when asked to), None if it does not
    exist. Use it as a context manager or call close(); every method works relative to the descriptor.
    """

    def __init__(self, dir_fd: int, name: str, virtual: str, st: os.stat_result | None, owns_fd: bool) -> None:
        self.dir_fd, self.name, self.virtual, self.st = dir_fd, name, virtual, st
        self._owns = owns_fd

    def __enter__(self) -> Place:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the parent directory's descriptor."""
        if self._owns:
            self._owns = False
            os.close(self.dir_fd)

    @property
    def exists(self) -> bool:
        """Whether the final name exists."""
        return self.st is not None

    @property
    def is_dir(self) -> bool:
        """Whether the final name is a directory."""
        return self.st is not None and stat.S_ISDIR(self.st.st_mode)

    @property
    def is_file(self) -> bool:
        """Whether the final name is a regular file."""
        return self.st is not None and stat.S_ISREG(self.st.st_mode)

    def open(self, flags: int, mode: int = 0o666) -> int:
        """os.open of the final name; never follows a link put there after the walk."""
        return os.open(self.name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=self.dir_fd)

    def open_dir(self) -> int:
        """A readable descriptor of the final name, which must be a directory (for listing)."""
        return self.open(os.O_RDONLY | os.O_DIRECTORY)

    def stat(self) -> os.stat_result:
        """lstat of the final name, now."""
        return os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)

    def chmod(self, mode: int) -> None:
        """chmod of the final name itself (Linux has no fchmodat without following; /proc does it)."""
        fd = self.open(os.O_PATH)
        try:
            if stat.S_ISLNK(os.fstat(fd).st_mode):
                raise OSError(errno.ELOOP, "is a symbolic link")
            os.chmod(f"/proc/self/fd/{fd}", mode)
        finally:
            os.close(fd)

    def utime(self, when: float) -> None:
        """Set access and modification times of the final name itself."""
        os.utime(self.name, (when, when), dir_fd=self.dir_fd, follow_symlinks=False)

    def mkdir(self) -> None:
        """Create the final name as a directory."""
        os.mkdir(self.name, dir_fd=self.dir_fd)

    def rmdir(self) -> None:
        """Remove the final name, an empty directory."""
        os.rmdir(self.name, dir_fd=self.dir_fd)

    def unlink(self) -> None:
        """Remove the final name (a link itself, never what it points to)."""
        os.unlink(self.name, dir_fd=self.dir_fd)

    def rename_to(self, other: Place) -> None:
        """Rename the final name to other's final name (both relative to their checked directories)."""
        os.rename(self.name, other.name, src_dir_fd=self.dir_fd, dst_dir_fd=other.dir_fd)


class Jail:
    """Virtual paths under a real root directory."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        try:
            self._root_fd = os.open(self.root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            raise GridFTPError(f"server root {root} is not a directory") from None

    def close(self) -> None:
        """Release the root's descriptor."""
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1

    def __del__(self) -> None:
        try:
            self.close()
        except (OSError, AttributeError):
            pass

    def virtual(self, cwd: str, path: str) -> str:
        """The normalised virtual path of `path` seen from virtual directory `cwd` ('~' is the home: '/')."""
        if "\0" in path:
            raise PathRefused("a path may not contain NUL")
        if path == "~" or path.startswith("~/"):  # GCT serves ~/ as the session's home, which is our root
            path = "/" + path[1:]
        joined = posixpath.join(cwd, path) if path else cwd
        norm = posixpath.normpath("/" + joined.lstrip("/"))
        return norm if norm.startswith("/") and not norm.startswith("//") else "/" + norm.lstrip("/")

    def place(self, cwd: str, path: str, *, follow: bool = True, must_exist: bool = False) -> Place:
        """Resolve a client path to a Place. follow: a final symbolic link is followed (open, stat, chmod);
        without it the link itself is the place (delete, rename). Links anywhere must stay in the root."""
        v = self.virtual(cwd, path)
        todo = deque(p for p in v.split("/") if p)
        if not todo:  # the root itself: its parent is not ours to show, so the place is '.' in the root
            return Place(self._root_fd, ".", "/", os.fstat(self._root_fd), owns_fd=False)
        stack: list[int] = []  # descriptors of the directories walked into (the root's is not ours to close)
        names: list[str] = []
        links = 0
        try:
            while todo:
                part = todo.popleft()
                if part in ("", "."):
                    continue
                if part == "..":  # only from a link's target: the virtual path has none
                    if not names:
                        raise PathRefused(f"{v}: no such file or directory")  # the link climbs out of the root
                    os.close(stack.pop())
                    names.pop()
                    continue
                cur = stack[-1] if stack else self._root_fd
                last = not any(p not in ("", ".") for p in todo)
                try:
                    fd = os.open(part, _PATH, dir_fd=cur)
                except FileNotFoundError:
                    if last and not must_exist:
                        return self._done(stack, cur, part, names, None)
                    raise PathRefused(f"{v}: no such file or directory") from None
                except NotADirectoryError:
                    raise PathRefused(f"{v}: not a directory") from None
                try:
                    st = os.fstat(fd)
                    if stat.S_ISLNK(st.st_mode) and (follow or not last):
                        links += 1
                        if links > MAX_LINKS:
                            raise PathRefused(f"{v}: too many levels of symbolic links")
                        target = os.readlink(part, dir_fd=cur)
                        if target.startswith("/"):
                            # An absolute link is usable only when it leads into the root (then it is
                            # walked from the root like any other path, with the same checks).
                            target_norm = posixpath.normpath(target)
                            root = str(self.root)
                            if target_norm != root and not target_norm.startswith(root.rstrip("/") + "/"):
                                raise PathRefused(f"{v}: no such file or directory")
                            while stack:
                                os.close(stack.pop())
                            names.clear()
                            target = target_norm[len(root):]
                        todo.extendleft(reversed(target.split("/")))
                        continue
                    if last:
                        return self._done(stack, cur, part, names, st)
                    if not stat.S_ISDIR(st.st_mode):
                        raise PathRefused(f"{v}: not a directory")
                    stack.append(os.open(part, _PATH | os.O_DIRECTORY, dir_fd=cur))
                    if not os.path.samestat(os.fstat(stack[-1]), st):  # swapped between the two opens
                        raise PathRefused(f"{v}: changed while it was being resolved; try again")
                    names.append(part)
                finally:
                    os.close(fd)
            # The walk ended on a directory already entered (a link to '.', '..' or the root).
            if not names:
                return Place(self._root_fd, ".", "/", os.fstat(self._root_fd), owns_fd=False)
            here = stack.pop()
            try:
                st = os.fstat(here)
            finally:
                os.close(here)
            name = names.pop()
            return self._done(stack, stack[-1] if stack else self._root_fd, name, names, st)
        except BaseException:
            for fd in stack:
                os.close(fd)
            raise

    def _done(self, stack: list[int], cur: int, name: str, names: list[str], st: os.stat_result | None) -> Place:
        # Keep the parent's descriptor (cur) and close the rest of the walk.
        for fd in stack:
            if fd != cur:
                os.close(fd)
        owns = bool(stack) and stack[-1] == cur
        virtual = "/" + "/".join([*names, name] if name != "." else names)
        return Place(cur, name, virtual, st, owns_fd=owns)
