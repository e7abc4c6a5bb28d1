"""Content-addressed storage: step outputs as files named by their sha256, and a stat-keyed digest cache so an
unchanged local file is never read twice."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..checksum import checksum, file_checksum


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The file's sha256 (lower-case hex), computed by the native core with the GIL released."""
    return file_checksum(path, "SHA256").lower()


#: Outputs up to this size live in the journal (SQLite), not as files: a file create costs ~0.5 ms on a VM's
#: disk, more than a whole in-process step may take.
INLINE = 16 * 1024


class Objects:
    """Step outputs by content: small ones inline in the journal, others as files under root/ab/cdef...
    (read-only once in place)."""

    def __init__(self, root: Path, journal: Any = None) -> None:
        self.root, self.journal = root, journal
        root.mkdir(parents=True, exist_ok=True)
        self._inline: set[str] = journal.blob_digests() if journal is not None else set()
        self._lock = threading.Lock()

    def file(self, digest: str) -> Path:
        """Where the object's file is (or would be)."""
        return self.root / digest[:2] / digest[2:]

    def has(self, digest: str) -> bool:
        """Whether the object is present (inline or as a file)."""
        return digest in self._inline or os.path.exists(self.file(digest))

    def stored_inline(self, digests: list[str]) -> None:
        """The journal now holds these (their result was recorded)."""
        with self._lock:
            self._inline.update(digests)

    def source(self, digest: str) -> Path | bytes:
        """The object for an in-process reader: its bytes if inline, else its file."""
        if digest in self._inline and self.journal is not None:
            data = self.journal.blob(digest)
            if data is not None:
                return bytes(data)
        return self.file(digest)

    def path(self, digest: str) -> Path:
        """The object as a file (an inline one is written out first, for jobs, services and deliveries)."""
        final = self.file(digest)
        if not final.exists() and digest in self._inline and self.journal is not None:
            data = self.journal.blob(digest)
            if data is not None:
                self._place(bytes(data), final)
        return final

    def put(self, data: bytes) -> tuple[str, bytes | None]:
        """Store bytes: (digest, the bytes if they are to go inline with the step's result, else None)."""
        digest = checksum("SHA256", data).lower()
        if len(data) <= INLINE:
            return digest, data
        final = self.file(digest)
        if not final.exists():
            self._place(data, final)
        return digest, None

    def _place(self, data: bytes, final: Path) -> None:
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                f.write(data)

        self._install(final, write)

    def ingest(self, done: Path, digest: str | None = None) -> str:
        """Put a finished file into the store under its digest (computed unless given); returns the digest.
        The file is linked, not moved (a driver killed before it records the result finds the file where the
        step left it)."""
        digest = digest or sha256_file(done)
        final = self.file(digest)
        if final.exists():
            return digest

        def link(tmp: Path) -> None:
            try:
                os.link(done, tmp)
            except OSError:  # another file system (a job's scratch): copy
                import shutil

                shutil.copyfile(done, tmp)

        self._install(final, link)
        return digest

    def _install(self, final: Path, make: Callable[[Path], None]) -> None:
        """Make the object under a temporary name, make it read-only, rename it into place last: a reader never
        sees half an object."""
        final.parent.mkdir(exist_ok=True)
        tmp = final.with_name(f".{final.name}.{os.getpid()}.{threading.get_ident()}")
        make(tmp)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)


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
