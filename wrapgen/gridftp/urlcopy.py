"""`wrapgen url-copy [options] SRC DST`: globus-url-copy's options where they apply.

URLs: file:///path, ftp://[user[:password]@]host[:port]/path, gsiftp://host[:port]/path (GSI, the proxy in
$X509_USER_PROXY, delegated; data channels DCAU A unless -nodcau) and http(s):// as a source. Between two
servers the copy is third party (the data goes straight from one to the other). Sessions are reused for
every file of a run (one per server, or per concurrent worker with -cc).
"""

from __future__ import annotations

import argparse
import calendar
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from typing import TYPE_CHECKING

from ..errors import UsageError
from .errors import GridFTPError

if TYPE_CHECKING:  # the client (and the TLS/X.509 stack under it) is imported when a copy starts
    from .client import Client

REMOTE = ("ftp", "gsiftp")


@dataclass(frozen=True)
class Url:
    """A parsed source or destination."""

    scheme: str
    host: str
    port: int
    user: str
    password: str
    path: str
    text: str = ""

    @property
    def is_dir(self) -> bool:
        """A URL ending in '/' names a directory (globus-url-copy's rule)."""
        return self.path.endswith("/")

    @property
    def remote(self) -> bool:
        """Served by a GridFTP server."""
        return self.scheme in REMOTE

    def join(self, name: str) -> Url:
        """The URL of name inside this directory URL."""
        return Url(self.scheme, self.host, self.port, self.user, self.password, self.path + name,
                   self.text + name)


def parse_url(text: str) -> Url:
    """file:///path, ftp:// or gsiftp://[user[:password]@]host[:port]/path, http(s)://...; else a UsageError."""
    u = urlsplit(text)
    if u.scheme == "file":
        if u.netloc not in ("", "localhost"):
            raise UsageError(f"{text}: file URLs are local (file:///path)")
        return Url("file", "", 0, "", "", unquote(u.path), text)
    if u.scheme in REMOTE:
        if not u.hostname:
            raise UsageError(f"{text}: no host")
        default_user = "anonymous" if u.scheme == "ftp" else ""
        path = unquote(u.path) or "/"
        if path == "/~" or path.startswith("/~/"):
            path = path[1:]  # ~/... is the session's home directory, as globus-url-copy sends it
        return Url(u.scheme, u.hostname, u.port or 2811, unquote(u.username or default_user),
                   unquote(u.password or "wrapgen@"), path, text)
    if u.scheme in ("http", "https"):
        if not u.hostname:
            raise UsageError(f"{text}: no host")
        return Url(u.scheme, u.hostname, u.port or 0, "", "", u.path or "/", text)
    raise UsageError(f"{text}: unsupported URL scheme {u.scheme!r}; use file://, ftp://, gsiftp:// or "
                     "http(s):// (source only)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `url-copy`."""
    p = subparsers.add_parser("url-copy", help="copy between file://, ftp://, gsiftp:// and http(s):// URLs "
                                               "(globus-url-copy's options)")
    p.add_argument("src", nargs="?")
    p.add_argument("dst", nargs="?")
    p.add_argument("-p", "-parallel", dest="parallel", type=int, default=4, help="parallel data streams")
    p.add_argument("-fast", action="store_true", help="accepted for compatibility (sessions are always reused)")
    p.add_argument("-r", action="store_true", help="copy a directory tree (SRC and DST end in '/')")
    p.add_argument("-cd", action="store_true", help="create missing destination directories")
    p.add_argument("-cc", type=int, default=1, help="files copied at once, each over its own sessions")
    p.add_argument("-f", dest="file", type=Path, default=None, help="a file of 'SRC DST' lines to copy")
    p.add_argument("-list", dest="list_url", default=None, metavar="URL", help="list a remote directory")
    p.add_argument("-sync", action="store_true", help="copy only what is missing or differs at the destination")
    p.add_argument("-sync-level", dest="sync_level", type=int, default=2, choices=range(4),
                   help="0: exists; 1: same size; 2: same size and not older (default); 3: same checksum")
    p.add_argument("-off", "-partial-offset", dest="off", type=int, default=None, help="first byte to copy")
    p.add_argument("-len", "-partial-length", dest="len", type=int, default=None, help="bytes to copy")
    p.add_argument("-verify-checksum", dest="verify", action="store_true", help="compare checksums after each file")
    p.add_argument("-checksum-alg", dest="alg", default="MD5")
    p.add_argument("-rst", "-restart", dest="rst", action="store_true", help="retry failed transfers")
    p.add_argument("-rst-retries", type=int, default=5)
    p.add_argument("-nodcau", "-no-data-channel-authentication", dest="nodcau", action="store_true",
                   help="gsiftp: do not authenticate data connections")
    p.add_argument("-nodelegation", dest="nodeleg", action="store_true",
                   help="gsiftp: do not delegate the proxy (implies -nodcau)")
    p.add_argument("-dcpriv", "-data-channel-private", dest="dcpriv", action="store_true",
                   help="gsiftp: encrypt the data channels (PROT P)")
    p.add_argument("-tcp-bs", "-tcp-buffer-size", dest="tcp_bs", type=_size, default=None,
                   help="TCP buffer size of the data connections, both ends (SBUF), e.g. 4M")
    p.add_argument("-pp", action="store_true", help="accepted for compatibility (commands are already pipelined "
                                                     "per session)")
    p.add_argument("-dbg", action="store_true", help="print the control channel conversation on stderr")
    p.add_argument("-vb", action="store_true", help="print bytes and rates")
    p.add_argument("-q", action="store_true", help="quiet")
    p.set_defaults(func=_run)


def _size(text: str) -> int:
    """A byte count with an optional K, M or G suffix (globus-url-copy's -tcp-bs form)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    try:
        n = int(float(text[:-1]) * units[text[-1].upper()]) if text[-1:].upper() in units else int(text)
        if n <= 0:
            raise ValueError
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a size in bytes such as 1048576 or 4M") from None
    return n


class Sessions:
    """One client session per server and thread, reused for every file."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._local = threading.local()
        self._all: list[Client] = []
        self._lock = threading.Lock()

    def get(self, u: Url) -> Client:
        """The calling thread's session with u's server."""
        cache = getattr(self._local, "clients", None)
        if cache is None:
            cache = self._local.clients = {}
        key = (u.scheme, u.host, u.port, u.user)
        c = cache.get(key)
        if c is None:
            from .client import Client

            trace = (lambda line, k=key: print(f"debug: {k[1]}:{k[2]}: {line}", file=sys.stderr)) \
                if self.args.dbg else None
            if u.scheme == "gsiftp":
                c = Client(u.host, u.port, user=u.user or None, gsi=True, delegate=not self.args.nodeleg,
                           dcau=False if (self.args.nodcau or self.args.nodeleg) else None,
                           private=self.args.dcpriv, tcp_buffer=self.args.tcp_bs, trace=trace)
            else:
                c = Client(u.host, u.port, u.user, u.password, tcp_buffer=self.args.tcp_bs, trace=trace)
            cache[key] = c
            with self._lock:
                self._all.append(c)
        return c

    def drop(self, u: Url) -> None:
        """Forget the calling thread's session with u's server (after an error; a retry opens a new one)."""
        cache = getattr(self._local, "clients", {})
        c = cache.pop((u.scheme, u.host, u.port, u.user), None)
        if c is not None:
            try:
                c.close()
            except (GridFTPError, OSError):
                pass

    def close(self) -> None:
        """End every session."""
        for c in self._all:
            try:
                c.close()
            except (GridFTPError, OSError):
                pass


# --- what is there --------------------------------------------------------------------------------------------
def _local_files(root: Path) -> list[str]:
    """The files under root, and its empty directories as 'name/' (globus-url-copy -r makes those too)."""
    out = []
    for p in root.rglob("*"):
        if p.is_file():
            out.append(str(p.relative_to(root)))
        elif p.is_dir() and not any(p.iterdir()):
            out.append(str(p.relative_to(root)) + "/")
    return sorted(out)


def _remote_files(c: Client, root: str) -> list[str]:
    out: list[str] = []
    for name, facts in sorted(c.list(root).items()):
        if name in (".", ".."):
            continue
        if facts.get("type") == "dir":
            below = _remote_files(c, f"{root.rstrip('/')}/{name}/")
            out += [f"{name}/{sub}" for sub in below] if below else [f"{name}/"]
        elif facts.get("type") == "file":
            out.append(name)
    return out


def _stat(sessions: Sessions, u: Url) -> tuple[int, float] | None:
    """(size, mtime) of a file, None if it does not exist."""
    from .client import ReplyError

    if u.scheme == "file":
        try:
            st = os.stat(u.path)
        except FileNotFoundError:
            return None
        return st.st_size, st.st_mtime
    try:
        facts = sessions.get(u).stat(u.path)
    except ReplyError as exc:
        if exc.code == 550:
            return None
        raise
    modify = facts.get("modify", "")
    mtime = calendar.timegm(time.strptime(modify[:14], "%Y%m%d%H%M%S")) if modify else 0.0
    return int(facts.get("size", "0")), float(mtime)


def _checksum(sessions: Sessions, u: Url, alg: str, length: int = -1) -> str:
    """The checksum of a file (its first length bytes), computed where it is: here, or by its server (CKSM)."""
    if u.scheme == "file":
        from ..checksum import file_checksum

        return file_checksum(u.path, alg, offset=0, length=length)
    return sessions.get(u).checksum(u.path, alg, 0, length).lower()


def _in_sync(sessions: Sessions, src: Url, dst: Url, level: int, alg: str) -> bool:
    """globus-url-copy's -sync-level rules: whether dst already holds src."""
    d = _stat(sessions, dst)
    if d is None:
        return False
    if level == 0:
        return True
    s = _stat(sessions, src)
    if s is None or s[0] != d[0]:
        return False
    if level == 1:
        return True
    if level == 2:
        return int(d[1]) >= int(s[1])  # servers report whole seconds (MLST modify)
    return _checksum(sessions, src, alg) == _checksum(sessions, dst, alg)


# --- copying --------------------------------------------------------------------------------------------------
def _mkdirs(c: Client, path: str, made: set[tuple[int, str]]) -> None:
    from .client import ReplyError

    parts = path.strip("/").split("/")[:-1]
    for i in range(1, len(parts) + 1):
        d = "/" + "/".join(parts[:i])
        key = (id(c), d)
        if key not in made:
            try:
                c.mkdir(d)
            except ReplyError:
                pass  # exists already (or the transfer below says why not)
            made.add(key)


def _http_get(u: Url, dest: Path) -> int:
    import requests

    try:
        with requests.get(u.text, stream=True, timeout=60) as r:
            if r.status_code != 200:
                raise GridFTPError(f"{u.text}: HTTP {r.status_code} {r.reason}")
            with open(dest, "wb") as f:
                shutil.copyfileobj(r.raw, f, 4 << 20)
    except requests.RequestException as exc:
        raise GridFTPError(f"{u.text}: {exc}") from None
    return dest.stat().st_size


def resume_point(sessions: Sessions, src: Url, dst: Url, parallel: int) -> int:
    """Where a retried copy can start: the part of the destination left by the failed attempt that matches the
    source (0 if none). Parallel streams write blocks out of order, so only what lies before the last
    `parallel` blocks is a candidate, and it is trusted only if its checksum matches the source's."""
    from .modee import BLOCK

    if not (src.remote ^ dst.remote) or src.scheme in ("http", "https"):
        return 0  # third party (the servers restart it) or http: from the start
    try:
        have = os.path.getsize(dst.path) if dst.scheme == "file" else sessions.get(dst).size(dst.path)
    except (OSError, GridFTPError):
        return 0
    start = (max(0, have - parallel * BLOCK) // BLOCK) * BLOCK
    if start <= 0:
        return 0

    try:
        return start if _checksum(sessions, src, "ADLER32", start) == _checksum(sessions, dst, "ADLER32", start) else 0
    except (OSError, GridFTPError):
        return 0


def copy_one(sessions: Sessions, src: Url, dst: Url, args: argparse.Namespace, made: set, resume: int = 0,
             progress: Progress | None = None) -> int:
    """Copy one file (from byte `resume` on, a retry's restart point); returns the bytes moved."""
    counter = progress.track(sessions, src) if progress is not None else None
    try:
        return _copy_one(sessions, src, dst, args, made, resume, counter)
    finally:
        if progress is not None:
            progress.untrack(counter)


def _copy_one(sessions: Sessions, src: Url, dst: Url, args: argparse.Namespace, made: set, resume: int,
              counter) -> int:
    from .client import transfer

    if src.is_dir and dst.is_dir:  # an empty directory of a -r copy
        if dst.scheme == "file":
            Path(dst.path).mkdir(parents=True, exist_ok=True)
        else:
            _mkdirs(sessions.get(dst), dst.path + ".", made)  # every component of dst.path
        return 0
    partial = args.off is not None or args.len is not None
    if resume and not partial:  # a retry: the rest of the file, from where the last attempt's good part ends
        off, length = resume, None
    else:
        off, length, resume = args.off or 0, args.len, 0
    if args.cd:
        if dst.scheme == "file":
            Path(dst.path).parent.mkdir(parents=True, exist_ok=True)
        else:
            _mkdirs(sessions.get(dst), dst.path, made)
    if src.scheme in ("http", "https"):
        if partial:
            raise UsageError("-off/-len are not supported for http(s) sources")
        if dst.scheme == "file":
            n = _http_get(src, Path(dst.path))
        else:
            with tempfile.TemporaryDirectory(prefix="wrapgen-url-copy-") as d:
                _http_get(src, Path(d) / "data")
                n = sessions.get(dst).put(Path(d) / "data", dst.path, parallel=args.parallel)
    elif src.remote and dst.remote:
        a, b = sessions.get(src), sessions.get(dst)
        if partial:
            raise UsageError("-off/-len are not supported for third-party transfers")
        transfer(a, src.path, b, dst.path, parallel=args.parallel)
        n = a.size(src.path)
    elif src.remote:
        n = sessions.get(src).get(src.path, dst.path, parallel=args.parallel, offset=off, length=length,
                                  progress=counter)
    else:
        n = sessions.get(dst).put(Path(src.path), dst.path, parallel=args.parallel, offset=off, length=length,
                                  progress=counter)
    if args.verify and not partial and _checksum(sessions, src, args.alg) != _checksum(sessions, dst, args.alg):
        raise GridFTPError(f"checksum mismatch ({args.alg}) after copying {src.text} to {dst.text}"
                           + (f" (resumed at {resume})" if resume else ""))
    return n + resume


def _pairs(sessions: Sessions, src: Url, dst: Url, args: argparse.Namespace) -> list[tuple[Url, Url]]:
    if src.scheme == dst.scheme == "file":
        raise UsageError(f"{src.text} -> {dst.text}: both URLs are local; one must be ftp:// or gsiftp://")
    if dst.scheme in ("http", "https"):
        raise UsageError(f"{dst.text}: http(s) URLs can only be sources")
    if args.r:
        if not (src.is_dir and dst.is_dir):
            raise UsageError("-r copies directories: SRC and DST must end in '/'")
        if src.scheme in ("http", "https"):
            raise UsageError("-r cannot list an http(s) source")
        names = _remote_files(sessions.get(src), src.path) if src.remote else _local_files(Path(src.path))
        return [(src.join(n), dst.join(n)) for n in names]
    if dst.is_dir:
        return [(src, dst.join(os.path.basename(src.path.rstrip("/"))))]
    return [(src, dst)]


def _jobs(args: argparse.Namespace) -> list[tuple[Url, Url]]:
    if args.file is not None:
        if args.src or args.dst:
            raise UsageError("-f FILE takes the place of SRC and DST")
        try:
            text = args.file.read_text()
        except OSError as exc:
            raise UsageError(f"-f {args.file}: {exc.strerror}") from None
        jobs = []
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2:
                raise UsageError(f"{args.file}:{lineno}: expected 'SRC DST', got {raw!r}")
            jobs.append((parse_url(parts[0]), parse_url(parts[1])))
        return jobs
    if not args.src or not args.dst:
        raise UsageError("give SRC and DST (or -f FILE, or -list URL)")
    return [(parse_url(args.src), parse_url(args.dst))]


@dataclass(frozen=True)
class Copied:
    """What a copy did: files copied (or found in sync), bytes moved, seconds taken."""

    files: int
    bytes: int
    seconds: float


def copy(src: str, dst: str, *, parallel: int = 4, recursive: bool = False, mkdirs: bool = False,
         verify: bool = False, checksum: str = "MD5", sync: int | None = None, retries: int = 0,
         concurrency: int = 1, dcau: bool = True, private: bool = False, delegate: bool = True,
         tcp_buffer: int | None = None) -> Copied:
    """Copy between file://, ftp://, gsiftp:// and http(s):// URLs (wrapgen url-copy as a function).

    recursive copies trees (both URLs end in '/'); sync=0..3 skips what the destination already holds
    (url-copy's -sync-level); retries>0 retries failed files, resuming after what was already copied.
    """
    args = argparse.Namespace(
        src=src, dst=dst, parallel=parallel, fast=True, r=recursive, cd=mkdirs, cc=concurrency, file=None,
        list_url=None, sync=sync is not None, sync_level=2 if sync is None else sync, off=None, len=None,
        verify=verify, alg=checksum, rst=retries > 0, rst_retries=retries, nodcau=not dcau,
        nodeleg=not delegate, dcpriv=private, tcp_bs=tcp_buffer, pp=False, dbg=False, vb=False, q=True)
    start = time.monotonic()
    files, moved = _execute(args)
    return Copied(files, moved, time.monotonic() - start)


def _run(args: argparse.Namespace) -> int:
    _execute(args)
    return 0


def _execute(args: argparse.Namespace) -> tuple[int, int]:
    """Check the options, then list (-list) or copy; (files, bytes)."""
    if not 1 <= args.parallel <= 64:
        raise UsageError(f"-p {args.parallel}: expected 1 to 64")
    if not 1 <= args.cc <= 64:
        raise UsageError(f"-cc {args.cc}: expected 1 to 64")
    if args.dcpriv and (args.nodcau or args.nodeleg):
        raise UsageError("-dcpriv encrypts with the data channels' DCAU session: it cannot go with -nodcau or "
                         "-nodelegation")
    if (args.off is not None and args.off < 0) or (args.len is not None and args.len < 0):
        raise UsageError("-off and -len must be 0 or more")
    sessions = Sessions(args)
    try:
        if args.list_url:
            u = parse_url(args.list_url)
            if not u.remote:
                raise UsageError(f"-list {args.list_url}: expected an ftp:// or gsiftp:// directory URL")
            for name, facts in sorted(sessions.get(u).list(u.path).items()):
                if name not in (".", ".."):
                    print(name + ("/" if facts.get("type") == "dir" else ""))
            return 0, 0
        pairs = [p for s, d in _jobs(args) for p in _pairs(sessions, s, d, args)]
        if (args.off is not None or args.len is not None) and len(pairs) != 1:
            raise UsageError("-off/-len apply to a single file")
        return len(pairs), _copy_all(sessions, pairs, args)
    finally:
        sessions.close()


def _copy_all(sessions: Sessions, pairs: list[tuple[Url, Url]], args: argparse.Namespace) -> int:
    """Copy every pair (concurrently with -cc); the bytes moved."""
    tries = args.rst_retries + 1 if args.rst else 1
    made: set = set()
    progress = Progress(len(pairs), enabled=not args.q and not args.vb and sys.stderr.isatty())
    start = time.monotonic()

    def one(pair: tuple[Url, Url]) -> int:
        src, dst = pair
        if args.sync and _in_sync(sessions, src, dst, args.sync_level, args.alg):
            progress.done(0)
            return 0
        resume = 0
        for attempt in range(tries):
            try:
                n = copy_one(sessions, src, dst, args, made, resume, progress if progress.enabled else None)
                break
            except (GridFTPError, OSError) as exc:
                sessions.drop(src)
                sessions.drop(dst)
                if attempt + 1 == tries:
                    raise GridFTPError(f"{src.text} -> {dst.text}: {exc}") from None
                if not args.q:
                    print(f"retrying {src.text} after: {exc}", file=sys.stderr)
                time.sleep(min(2 ** attempt * 0.2, 5))
                if args.off is None and args.len is None:
                    try:
                        resume = resume_point(sessions, src, dst, args.parallel)
                    except (GridFTPError, OSError):
                        resume = 0
                    if resume and not args.q:
                        print(f"resuming {src.text} at byte {resume} (the part already copied matches)",
                              file=sys.stderr)
        if args.vb and not args.q:
            print(f"Source: {src.text}\nDest:   {dst.text}\n  {n} bytes")
        progress.done(n)
        return n

    if args.cc > 1 and len(pairs) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(args.cc) as pool:
            total = sum(pool.map(one, pairs))
    else:
        total = sum(one(p) for p in pairs)
    progress.close()
    if args.vb and not args.q:
        secs = max(time.monotonic() - start, 1e-9)
        print(f"{total} bytes {total / secs / 1e6:.2f} MB/sec avg ({len(pairs)} file{'s' * (len(pairs) != 1)})")
    return total


class Progress:
    """A one-line progress display on a terminal: a bar (by bytes for one file, by files for many), bytes and
    rate, redrawn four times a second from the native data path's byte counters while files are in flight."""

    def __init__(self, files: int, enabled: bool) -> None:
        self.files, self.enabled = files, enabled
        self.count, self.bytes, self.start = 0, 0, time.monotonic()
        self.total: int | None = None  # bytes of the only file, when known
        self._live: list = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        if enabled:
            threading.Thread(target=self._tick, name="url-copy-progress", daemon=True).start()

    def track(self, sessions: Sessions, src: Url):
        """A byte counter for a file starting now (None when nothing is displayed)."""
        from .. import _core

        if self.files == 1 and self.total is None:
            try:
                self.total = os.path.getsize(src.path) if src.scheme == "file" else \
                    sessions.get(src).size(src.path) if src.remote else None
            except (OSError, GridFTPError):
                self.total = None
        counter = _core.Progress()
        with self._lock:
            self._live.append(counter)
        return counter

    def untrack(self, counter) -> None:
        """The file is over (done() counts its bytes)."""
        with self._lock:
            if counter in self._live:
                self._live.remove(counter)

    def done(self, n: int) -> None:
        """One file finished."""
        with self._lock:
            self.count += 1
            self.bytes += n
        self._draw()

    def _tick(self) -> None:
        while not self._stop.wait(0.25):
            self._draw()

    def _draw(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            moving = self.bytes + sum(c.bytes for c in self._live)
            count = self.count
        secs = max(time.monotonic() - self.start, 1e-9)
        width = 30
        if self.files == 1 and self.total:
            filled = min(width, width * moving // self.total)
            what = f"{moving / 1e6:.1f}/{self.total / 1e6:.1f} MB"
        else:
            filled = width * count // max(self.files, 1)
            what = f"{count}/{self.files} files {moving / 1e6:.1f} MB"
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {what} {moving / secs / 1e6:.1f} MB/s ")
        sys.stderr.flush()

    def close(self) -> None:
        """Stop redrawing and end the line."""
        self._stop.set()
        if self.enabled:
            self._draw()
            sys.stderr.write("\n")
