"""Copying between URLs through their stores, with globus-url-copy's semantics for every scheme the registry
knows: trees, sync levels, checksum verification, concurrent files, and retries that resume after the part
already copied when that part's checksum matches the source's."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .errors import TransferError
from .progress import Progress
from .registry import Registry, Stores
from .settings import CopySettings
from .store import Store
from .url import Url, parse_url


@dataclass(frozen=True)
class Copied:
    """What a copy did: files copied (or found in sync), bytes moved, seconds taken."""

    files: int
    bytes: int
    seconds: float


def copy(src: str, dst: str, settings: CopySettings | None = None, registry: Registry | None = None,
         **options: Any) -> Copied:
    """Copy src to dst (a file, or a tree with settings.recursive); options are CopySettings' fields."""
    if settings is not None and options:
        raise UsageError(f"give settings or options ({', '.join(options)}), not both")
    settings = settings or CopySettings.of(**options)
    start = time.monotonic()
    with Stores(settings, registry) as stores:
        known = stores.registry.table
        files, moved = copy_all(stores, [(parse_url(src, known), parse_url(dst, known))])
    return Copied(files, moved, time.monotonic() - start)


def _label(store: Store, url: Url) -> str:
    return store.label or f"{url.scheme}://"


# --- what is there --------------------------------------------------------------------------------------------
def tree(store: Store, url: Url) -> list[str]:
    """The files under a directory URL, and its empty directories as 'name/' (globus-url-copy -r makes those)."""
    out: list[str] = []
    for name, st in sorted(store.list(url).items()):
        if st.kind == "dir":
            below = tree(store, url.join(name + "/"))
            out += [f"{name}/{sub}" for sub in below] if below else [f"{name}/"]
        else:
            out.append(name)
    return out


def expand(stores: Stores, src: Url, dst: Url) -> list[tuple[Url, Url]]:
    """The (source, destination) file pairs one SRC DST pair stands for."""
    s = stores.settings
    dst_store = stores.of(dst)
    if not dst_store.can_write:
        raise UsageError(f"{dst.text}: {_label(dst_store, dst)} URLs can only be sources")
    if s.recursive:
        if not (src.is_dir and dst.is_dir):
            raise UsageError("-r copies directories: SRC and DST must end in '/'")
        src_store = stores.of(src)
        if not src_store.can_list:
            raise UsageError(f"-r cannot list an {_label(src_store, src)} source")
        return [(src.join(n), dst.join(n)) for n in tree(src_store, src)]
    if dst.is_dir:
        return [(src, dst.join(os.path.basename(src.path.rstrip("/"))))]
    return [(src, dst)]


def in_sync(stores: Stores, src: Url, dst: Url) -> bool:
    """globus-url-copy's -sync-level rules: whether dst already holds src."""
    level = stores.settings.sync_level
    d = stores.of(dst).stat(dst)
    if d is None:
        return False
    if level == 0:
        return True
    s = stores.of(src).stat(src)
    if s is None or s.size != d.size:
        return False
    if level == 1:
        return True
    if level == 2:
        return int(d.mtime) >= int(s.mtime)  # servers report whole seconds (MLST modify)
    alg = stores.settings.checksum
    return stores.of(src).checksum(src, alg) == stores.of(dst).checksum(dst, alg)


def resume_point(stores: Stores, src: Url, dst: Url) -> int:
    """Where a retried copy can start: the part of the destination left by the failed attempt that matches the
    source (0 if none). Parallel streams write blocks out of order, so only what lies before the last
    `parallel` blocks is a candidate, and it is trusted only if its checksum matches the source's."""
    if src.local == dst.local:
        return 0  # third party (the servers restart it)
    a, b = stores.of(src), stores.of(dst)
    remote = b if src.local else a
    if not remote.can_resume or not remote.block:
        return 0
    try:
        st = b.stat(dst)
    except (OSError, TransferError):
        return 0
    have = st.size if st is not None else 0
    block = remote.block
    start = (max(0, have - stores.settings.parallel * block) // block) * block
    if start <= 0:
        return 0
    try:
        return start if a.checksum(src, "ADLER32", start) == b.checksum(dst, "ADLER32", start) else 0
    except (OSError, TransferError):
        return 0


# --- copying --------------------------------------------------------------------------------------------------
def copy_one(stores: Stores, src: Url, dst: Url, resume: int = 0, progress: Progress | None = None) -> int:
    """Copy one file (from byte `resume` on, a retry's restart point); returns the bytes moved."""
    counter = progress.track(stores, src) if progress is not None else None
    try:
        return _copy_one(stores, src, dst, resume, counter)
    finally:
        if progress is not None:
            progress.untrack(counter)


def _parent(u: Url) -> Url:
    return Url(u.scheme, u.host, u.port, u.user, u.password, u.path.rsplit("/", 1)[0] + "/", u.text)


def _copy_one(stores: Stores, src: Url, dst: Url, resume: int, counter: Any) -> int:
    s = stores.settings
    a, b = stores.of(src), stores.of(dst)
    if src.is_dir and dst.is_dir:  # an empty directory of a -r copy
        b.mkdir(dst)
        return 0
    if resume and not s.partial:  # a retry: the rest of the file, from where the last attempt's good part ends
        off, length = resume, None
    else:
        off, length, resume = s.offset or 0, s.length, 0
    if s.partial and not (b if src.local else a).can_resume:
        raise UsageError(f"-off/-len are not supported for {_label(a, src)} sources")
    if s.mkdirs:
        b.mkdir(_parent(dst))
    if src.local:
        n = b.upload(Path(src.path), dst, offset=off, length=length, progress=counter)
    elif dst.local:
        n = a.download(src, Path(dst.path), offset=off, length=length, progress=counter)
    else:
        if s.partial:
            raise UsageError("-off/-len are not supported for third-party transfers")
        third = a.third_party(src, b, dst)
        if third is not None:
            n = third
        else:  # through this machine
            with tempfile.TemporaryDirectory(prefix="wrapgen-url-copy-") as d:
                a.download(src, Path(d) / "data")
                n = b.upload(Path(d) / "data", dst)
    if s.verify and not s.partial and a.can_checksum and b.can_checksum \
            and a.checksum(src, s.checksum) != b.checksum(dst, s.checksum):
        raise TransferError(f"checksum mismatch ({s.checksum}) after copying {src.text} to {dst.text}"
                            + (f" (resumed at {resume})" if resume else ""))
    return n + resume


def copy_all(stores: Stores, jobs: list[tuple[Url, Url]]) -> tuple[int, int]:
    """Copy every SRC DST pair (concurrently with settings.concurrency); (files, bytes moved)."""
    s = stores.settings
    pairs = [p for src, dst in jobs for p in expand(stores, src, dst)]
    if s.partial and len(pairs) != 1:
        raise UsageError("-off/-len apply to a single file")
    progress = Progress(len(pairs), enabled=not s.quiet and not s.verbose and sys.stderr.isatty())
    start = time.monotonic()
    log = None
    if s.log_transfer:
        from ..netlogger import EventLog, inherited_guid

        log = EventLog(s.log_transfer, inherited_guid())

    def one(pair: tuple[Url, Url]) -> int:
        if log is None:
            return _one(pair)
        with log.span("wrapgen.url-copy.transfer", src=pair[0].text, dst=pair[1].text) as end:
            n = _one(pair)
            end.update(nbytes=n, streams=s.parallel)
        return n

    def _one(pair: tuple[Url, Url]) -> int:
        src, dst = pair
        if s.sync and in_sync(stores, src, dst):
            progress.done(0)
            return 0
        resume = 0
        for attempt in range(s.attempts):
            try:
                n = copy_one(stores, src, dst, resume, progress if progress.enabled else None)
                break
            except (TransferError, OSError) as exc:
                stores.of(src).forget(src)
                stores.of(dst).forget(dst)
                if attempt + 1 == s.attempts:
                    raise TransferError(f"{src.text} -> {dst.text}: {exc}") from None
                if not s.quiet:
                    print(f"retrying {src.text} after: {exc}", file=sys.stderr)
                time.sleep(min(2 ** attempt * 0.2, 5))
                if not s.partial:
                    resume = resume_point(stores, src, dst)
                    if resume and not s.quiet:
                        print(f"resuming {src.text} at byte {resume} (the part already copied matches)",
                              file=sys.stderr)
        if s.verbose and not s.quiet:
            print(f"Source: {src.text}\nDest:   {dst.text}\n  {n} bytes")
        progress.done(n)
        return n

    try:
        if s.concurrency > 1 and len(pairs) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(s.concurrency) as pool:
                total = sum(pool.map(one, pairs))
        else:
            total = sum(one(p) for p in pairs)
    finally:
        if log is not None:
            log.close()
    progress.close()
    if s.verbose and not s.quiet:
        secs = max(time.monotonic() - start, 1e-9)
        print(f"{total} bytes {total / secs / 1e6:.2f} MB/sec avg ({len(pairs)} file{'s' * (len(pairs) != 1)})")
    return len(pairs), total
