"""file:// URLs: paths on this machine."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .store import Stat, Store

if TYPE_CHECKING:
    from .url import Url


class LocalStore(Store):
    """Local files (the other end of most copies; url-copy reads and writes them in place, not through here)."""

    schemes = ("file",)

    def stat(self, url: Url) -> Stat | None:
        """os.stat of the path, None if it does not exist."""
        try:
            st = os.stat(url.path)
        except FileNotFoundError:
            return None
        return Stat(st.st_size, st.st_mtime, "dir" if Path(url.path).is_dir() else "file")

    def list(self, url: Url) -> dict[str, Stat]:
        """The directory's entries."""
        out = {}
        with os.scandir(url.path) as it:
            for e in it:
                st = e.stat()
                out[e.name] = Stat(st.st_size, st.st_mtime, "dir" if e.is_dir() else "file")
        return out

    def mkdir(self, url: Url) -> None:
        """mkdir -p."""
        Path(url.path).mkdir(parents=True, exist_ok=True)

    def download(self, url: Url, local: Path, offset: int = 0, length: int | None = None,
                 progress: Any = None) -> int:
        """Copy the file's bytes to another local file, at the same offset."""
        return _copy_range(Path(url.path), local, offset, length)

    def upload(self, local: Path, url: Url, offset: int = 0, length: int | None = None, progress: Any = None) -> int:
        """Copy a local file's bytes here, at the same offset."""
        return _copy_range(local, Path(url.path), offset, length)

    def checksum(self, url: Url, algorithm: str, length: int = -1) -> str:
        """Computed by the native checksum code (GIL released)."""
        from ..checksum import file_checksum

        return file_checksum(url.path, algorithm, offset=0, length=length)


def _copy_range(src: Path, dst: Path, offset: int, length: int | None) -> int:
    if offset == 0 and length is None:
        shutil.copyfile(src, dst)
        return dst.stat().st_size
    moved = 0
    with open(src, "rb") as a, open(dst, "r+b" if dst.exists() else "wb") as b:
        a.seek(offset)
        b.seek(offset)
        while length is None or moved < length:
            chunk = a.read(min(4 << 20, (length - moved) if length is not None else 4 << 20))
            if not chunk:
                break
            b.write(chunk)
            moved += len(chunk)
    return moved
