"""The interface every URL scheme's store implements (psij's one-executor-per-backend idea, for data).

A store is made for one copy run with the run's settings, is used from several threads at once (url-copy -cc),
and is closed at the end. Paths are the URLs' own (`Url.path`); files cross between stores through local files,
so a store only needs to move bytes between its own place and this machine, unless it can do better (third party).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import TransferError

if TYPE_CHECKING:
    from .settings import CopySettings
    from .url import Url


@dataclass(frozen=True)
class Stat:
    """What a store knows of a name: its size, modification time (seconds since the epoch, whole seconds for
    servers that report no more), kind ('file' or 'dir') and the server's version tag if it has one (HTTP's ETag:
    it changes with the content even when size and time do not)."""

    size: int
    mtime: float
    kind: str = "file"
    tag: str = ""


class Store(ABC):
    """One scheme's files. Subclasses set `schemes`; methods raise TransferError (or OSError) on failure."""

    schemes: tuple[str, ...] = ()
    label = ""  # how messages name the store's URLs ("http(s)"); the scheme when empty
    can_write = True  # may be a destination
    can_list = True  # directories can be listed (recursive copies)
    can_resume = True  # download/upload take an offset, so a failed copy can resume
    can_checksum = True  # checksum() works (verified copies compare both ends)
    block = 0  # bytes a parallel transfer writes at a time (a resumed copy trusts only whole blocks before the end)

    def __init__(self, settings: CopySettings) -> None:
        self.settings = settings

    @abstractmethod
    def stat(self, url: Url) -> Stat | None:
        """What url names, None if nothing."""

    def list(self, url: Url) -> dict[str, Stat]:
        """The entries of a directory (not '.' or '..')."""
        raise TransferError(f"{url.text}: {url.scheme}:// URLs cannot be listed")

    def mkdir(self, url: Url) -> None:
        """Make the directory url names and any missing parents (nothing if they exist)."""
        raise TransferError(f"{url.text}: {url.scheme}:// URLs cannot make directories")

    @abstractmethod
    def download(self, url: Url, local: Path, offset: int = 0, length: int | None = None,
                 progress: Any = None) -> int:
        """Write url's bytes (from offset, length of them) into the local file at the same offset; bytes moved."""

    def upload(self, local: Path, url: Url, offset: int = 0, length: int | None = None, progress: Any = None) -> int:
        """Write the local file's bytes (from offset, length of them) to url at the same offset; bytes moved."""
        raise TransferError(f"{url.text}: {url.scheme}:// URLs can only be sources")

    def checksum(self, url: Url, algorithm: str, length: int = -1) -> str:
        """The checksum (lower-case hex) of url's first length bytes (-1: all), computed where the file is."""
        raise TransferError(f"{url.text}: {url.scheme}:// URLs have no checksum")

    def third_party(self, src: Url, dst_store: Store, dst: Url) -> int | None:
        """Copy src straight to dst in dst_store without passing through this machine; the bytes moved, or None
        when these two cannot (the copy then goes through a local file)."""
        return None

    def forget(self, url: Url) -> None:
        """A transfer with url failed: drop whatever session it used so a retry starts afresh."""

    def prune(self) -> None:
        """Drop the calling thread's cached sessions that no longer answer (before a later run reuses them)."""

    def abort(self) -> None:
        """End every transfer in progress at once, from another thread (a cancelled job's staging); the copies
        fail with TransferError or OSError."""
        self.close()

    def close(self) -> None:
        """End every session."""
