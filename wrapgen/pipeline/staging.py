"""Verified staging through wrapgen.urls: what a source says of a file before fetching it (its SHA256 when the
server computes one, else size and time), fetching with resume, delivering, and checking every byte end to end
with sha256 -- server-side CKSM when the peer has it, the streamed local digest otherwise."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..urls.errors import TransferError
from .cache import DigestCache, sha256_file
from .errors import StepFailed

ALGORITHM = "SHA256"


class Meter:
    """Bytes moved so far by the transfers it tracks: copy_one's progress interface, read from another thread
    (the native data path counts as it goes)."""

    def __init__(self) -> None:
        self._counters: list[Any] = []
        self._file: tuple[Path, int] | None = None

    def watch(self, path: Path, base: int = 0) -> None:
        """Count a download by the growth of its local file too (stores whose data path keeps no counter)."""
        self._file = (path, base)

    def track(self, stores: Any, src: Any) -> Any:
        """A counter for a transfer starting now."""
        from .. import _core

        counter = _core.Progress()
        self._counters.append(counter)
        return counter

    def untrack(self, counter: Any) -> None:
        """The transfer is over (its bytes still count)."""

    @property
    def bytes(self) -> int:
        """Bytes moved so far."""
        n = sum(c.bytes for c in list(self._counters))
        if self._file is not None:
            try:
                n = max(n, self._file[0].stat().st_size - self._file[1])
            except OSError:
                pass
        return n


@dataclass
class Tally:
    """What a run's staging did, for its summary (Pegasus counts integrity checks; so do we)."""

    files: int = 0
    bytes: int = 0
    verified: int = 0
    mismatches: int = 0
    retries: int = 0
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: float) -> None:
        """Add to the counts."""
        with self._lock:
            for k, v in counts.items():
                setattr(self, k, getattr(self, k) + v)

    def as_json(self) -> dict[str, Any]:
        """The counts."""
        return {k: getattr(self, k) for k in ("files", "bytes", "verified", "mismatches", "retries", "seconds")}


class Staging:
    """The run's URL stores (sessions kept for the whole run, made at the first transfer: a pipeline that moves
    nothing does not pay for the URL machinery's import) and its digest cache."""

    def __init__(self, digests: DigestCache, registry: Any = None, parallel: int = 4) -> None:
        self.digests, self.registry, self.parallel = digests, registry, parallel
        self.tally = Tally()
        self._stores: Any = None
        self._lock = threading.Lock()

    @property
    def stores(self) -> Any:
        """The run's wrapgen.urls Stores."""
        with self._lock:
            if self._stores is None:
                from ..urls.registry import Stores
                from ..urls.settings import CopySettings

                settings = CopySettings(quiet=True, mkdirs=True, parallel=self.parallel, checksum=ALGORITHM)
                self._stores = Stores(settings, self.registry)
            return self._stores

    def close(self) -> None:
        """End every session."""
        if self._stores is not None:
            self._stores.close()

    def abort(self) -> None:
        """Stop transfers in progress (from another thread)."""
        if self._stores is not None:
            self._stores.abort()

    def url(self, text: str) -> Any:
        """A URL the stores take, or StepFailed naming it."""
        from ..urls.url import parse_url

        try:
            return parse_url(text)
        except Exception as exc:  # noqa: BLE001 - UsageError from parse_url, said as a permanent failure
            raise StepFailed(text, str(exc)) from None

    def probe(self, text: str, verify: bool = True) -> dict[str, Any]:
        """What identifies the source's content before fetching: {"sha256": ...} when it can be known (a local
        file through the digest cache, a server's CKSM), else {"size", "mtime"}; StepFailed if it is missing."""
        u = self.url(text)
        if u.scheme == "file":
            try:
                return {"sha256": self.digests.digest(u.path)}
            except OSError as exc:
                raise StepFailed(text, f"cannot read: {exc.strerror or exc}") from None
        store = self.stores.of(u)
        try:
            if store.can_checksum and verify:
                try:
                    return {"sha256": store.checksum(u, ALGORITHM).lower()}
                except TransferError:
                    store.forget(u)  # a server without SHA256 CKSM: fall back to what stat says
            st = store.stat(u)
        except (OSError, TransferError) as exc:
            store.forget(u)
            raise StepFailed(text, f"cannot reach: {exc}", transient=getattr(exc, "transient", True)) from None
        if st is None:
            raise StepFailed(text, "no such file at the source")
        if st.tag:
            return {"size": st.size, "etag": st.tag}  # the server's version of the bytes, better than a time
        return {"size": st.size, "mtime": st.mtime}

    def fetch(self, text: str, part: Path, expected: str | None, verify: bool = True,
              declared: bool = False, meter: Meter | None = None, verifying: Any = None) -> tuple[str, int]:
        """Copy the source into the local file part (resuming a part left by an earlier attempt), verify it;
        (sha256, bytes moved). meter counts the bytes as they move; verifying() is called when they have. A
        digest that differs from expected (declared in the pipeline, or the server's from the probe) is a transient
        StepFailed: the bytes were damaged on the way and a retry may get them right."""
        import time

        from ..urls.copy import copy_one, resume_point

        u = self.url(text)
        local = self.url("file://" + str(part))
        t0 = time.monotonic()
        resume = resume_point(self.stores, u, local) if part.exists() and u.scheme != "file" else 0
        if meter is not None:
            meter.watch(part, resume)
        try:
            n = copy_one(self.stores, u, local, resume, meter)  # type: ignore[arg-type]
        except (OSError, TransferError) as exc:
            self.stores.of(u).forget(u)
            raise StepFailed(text, f"transfer failed: {exc}", transient=getattr(exc, "transient", True)) from None
        if verifying is not None and (verify or expected):
            verifying()
        digest = sha256_file(part)
        server = None
        store = self.stores.of(u)
        if expected is None and verify and u.scheme != "file" and store.can_checksum:
            try:
                server = store.checksum(u, ALGORITHM).lower()
            except (OSError, TransferError):
                store.forget(u)
        want = expected or server
        self.tally.add(files=1, bytes=n, seconds=time.monotonic() - t0, verified=1 if want else 0)
        if want is not None and digest != want:
            self.tally.add(mismatches=1)
            part.unlink(missing_ok=True)  # never resume onto damaged bytes
            raise StepFailed(text, f"sha256 mismatch: expected {want}, got {digest} "
                             f"({'declared' if declared else 'the server computes'} {want[:12]})", transient=True)
        return digest, n

    def deliver(self, local: Path, digest: str, text: str, verify: bool = True, meter: Meter | None = None,
                verifying: Any = None) -> int:
        """Copy a content-store file to the destination and check the destination's sha256 (where the server
        can compute it); bytes moved. meter and verifying as for fetch."""
        import time

        from ..urls.copy import copy_one

        u = self.url(text)
        src = self.url("file://" + str(local))
        store = self.stores.of(u)
        if not store.can_write:
            raise StepFailed(text, f"{u.scheme}:// URLs can only be sources")
        t0 = time.monotonic()
        try:
            n = copy_one(self.stores, src, u, 0, meter)  # type: ignore[arg-type]
            checked = store.can_checksum and verify
            if checked and verifying is not None:
                verifying()
            there = store.checksum(u, ALGORITHM).lower() if checked else None
        except (OSError, TransferError) as exc:
            store.forget(u)
            raise StepFailed(text, f"transfer failed: {exc}", transient=getattr(exc, "transient", True)) from None
        self.tally.add(files=1, bytes=n, seconds=time.monotonic() - t0, verified=1 if there else 0)
        if there is not None and there != digest:
            self.tally.add(mismatches=1)
            raise StepFailed(text, f"sha256 mismatch at the destination: sent {digest}, it has {there}",
                             transient=True)
        return n

    def delivered(self, text: str, size: int) -> bool:
        """Whether the destination still holds a file of the size delivered (a cached stage-out is redone if its
        file was removed)."""
        u = self.url(text)
        try:
            st = self.stores.of(u).stat(u)
        except (OSError, TransferError):
            self.stores.of(u).forget(u)
            return False
        return st is not None and st.size == size
