"""Process supervision in one place: the isolated kernel worker (wrapgen.bind), the WS-RF executor and server
(wrapgen.wsrf) and, next, the fork job backend (wrapgen.gram) start, limit, stop and explain processes the
same way.

- `limit_memory(extra)`: an address-space limit of what the process may add to its current size (Python,
  numpy and the kernel's libraries are already mapped, so a limit of the whole size would count them);
- `new_session()`: the process leads its own session, so one `stop_group(pid)` ends it and its children;
- `die_with_parent()`: a child started with it gets SIGTERM when its parent dies, kill -9 included;
- `describe_death(status, tail, memory)`: why a process ended, from a Popen-style status and the tail of
  its output (a signal, an exit status, or memory exhaustion as the runtime reported it);
- `alive(pid)`: whether a pid is still one of our processes (a reused pid of another program is not);
- `start_time(pid)`, `running(pid, started)`: a process named for good by pid and start time (job re-attach);
- `lock_exclusive(path)`: one server per state (flock); `wait_for_stop()`: a served command's main thread.
"""

from __future__ import annotations

import os
import resource
import signal
from dataclasses import dataclass

# What runtimes print when an allocation fails under RLIMIT_AS (gfortran, glibc, CPython, libstdc++).
MEMORY_WORDS = ("memory", "Allocation would exceed", "Cannot allocate", "MemoryError", "std::bad_alloc")
TAIL_CHARS = 2000


def vm_size() -> int:
    """This process's virtual memory size in bytes (0 if /proc does not say)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def limit_memory(extra: int) -> None:
    """Let this process grow by at most `extra` bytes of address space from now on."""
    limit = vm_size() + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def new_session() -> None:
    """Make this process the leader of a new session and process group (after fork)."""
    os.setsid()


def stop_group(pid: int | None, sig: int = signal.SIGKILL) -> None:
    """Signal the process group led by pid (a session leader and its children); gone already is fine."""
    if pid:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def die_with_parent() -> None:
    """preexec_fn for subprocess: SIGTERM this child when its parent dies (PR_SET_PDEATHSIG). If the parent is
    already gone, stop at once."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:
        os.kill(os.getpid(), signal.SIGTERM)


def _stat(pid: int) -> list[bytes] | None:
    """/proc/PID/stat's fields after the command name (state first), None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None


def alive(pid: int, marker: bytes = b"wrapgen") -> bool:
    """Whether pid is a live (not zombie) process whose command line contains marker."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return False
    fields = _stat(pid)
    return fields is not None and fields[0] != b"Z" and marker in cmdline


def start_time(pid: int) -> int | None:
    """When pid started (clock ticks since boot, /proc/PID/stat field 22), None if there is no such process: with
    the pid it names one process for good, since a reused pid has a later start time."""
    fields = _stat(pid)
    return int(fields[19]) if fields is not None else None


def running(pid: int, started: int | None) -> bool:
    """Whether the process (pid, start time) is still running (a zombie has ended)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != b"Z" and (started is None or int(fields[19]) == started)


def log_tail(text: str) -> str:
    """'; its output ended with: ...' for the last TAIL_CHARS characters of a process's output, or ''."""
    text = text[-TAIL_CHARS:].strip()
    return f"; its output ended with:\n{text}" if text else ""


@dataclass(frozen=True)
class Death:
    """Why a process ended: kind is 'memory', 'signal' or 'exit'; signal names the signal for 'signal'."""

    kind: str
    status: int
    signal: str | None = None
    description: str | None = None


def describe_death(status: int, tail: str = "", memory: int | None = None) -> Death:
    """Classify a Popen-style exit status (negative: killed by that signal) with the output's tail."""
    if memory and any(word in tail for word in MEMORY_WORDS):
        return Death("memory", status)
    if status < 0:
        sig = signal.Signals(-status)
        return Death("signal", status, sig.name, signal.strsignal(sig))
    return Death("exit", status)


def lock_exclusive(path: str | os.PathLike[str]) -> int | str:
    """Take an exclusive flock on path for as long as the returned descriptor stays open (the kernel releases
    it when the holder dies, kill -9 included, so a stale lock never blocks the next server); if another
    process holds it, what it wrote ("pid N") instead."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
        os.close(fd)
        return holder
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()}\n".encode())
    return fd


def wait_for_stop() -> None:
    """Block until SIGTERM or Ctrl-C (a served command's main thread while its server threads work)."""
    stopped: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda *_: stopped.append(1))
    try:
        while not stopped:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)

