"""Content-addressed storage: step outputs as files named by their sha256, and a stat-keyed digest cache so an
unchanged local file is never read twice."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ..checksum import file_checksum


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The file's sha256 (lower-case hex), computed by the native core with the GIL released."""
    return file_checksum(path, "SHA256").lower()


class Objects:
    """Files by content under root/ab/cdef... (read-only once in place)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        """Where the object with this digest lives."""
        return self.root / digest[:2] / digest[2:]

    def has(self, digest: str) -> bool:
        """Whether the object is present."""
        return os.path.exists(self.path(digest))

    def ingest(self, done: Path, digest: str | None = None) -> str:
        """Put a finished file into the store under its digest (computed unless given); returns the digest.
        The file is linked, not moved (a driver killed before it records the result finds the file where the
        step left it), and the rename is the last step: a reader never sees half an object."""
        digest = digest or sha256_file(done)
        final = self.path(digest)
        if final.exists():
            return digest
        final.parent.mkdir(exist_ok=True)
        tmp = final.with_name(f".{final.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            os.link(done, tmp)
        except OSError:  # another file system (a job's scratch): copy
            import shutil

            shutil.copyfile(done, tmp)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)
        return digest


def stat_identity(st: os.stat_result) -> tuple[int, ...]:
    """What says a file is unchanged: device, inode, size, mtime and ctime in nanoseconds (ctime catches a
    rewrite that restored the mtime; the inode catches a file replaced by another)."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class DigestCache:
    """path -> sha256, trusted while the file's stat identity is the same (`touch` changes the mtime, so a touched
    file is read again once; its digest, and so every step key, stays the same)."""

    def __init__(self, known: dict[str, tuple[tuple[int, ...], str]]) -> None:
        self._known = dict(known)
        self._new: list[tuple[str, tuple[int, ...], str]] = []
        self._lock = threading.Lock()

    def digest(self, path: str | os.PathLike[str]) -> str:
        """The file's sha256, read only if the file changed since it was last digested."""
        p = os.path.abspath(path)
        ident = stat_identity(os.stat(p))
        hit = self._known.get(p)
        if hit is not None and hit[0] == ident:
            return hit[1]
        digest = sha256_file(p)
        if ident == stat_identity(os.stat(p)):  # changed while being read: do not remember a torn digest
            with self._lock:
                self._known[p] = (ident, digest)
                self._new.append((p, ident, digest))
        return digest

    def take_new(self) -> list[tuple[str, tuple[int, ...], str]]:
        """Digests computed since the last call (to store in the journal)."""
        with self._lock:
            new, self._new = self._new, []
        return new
