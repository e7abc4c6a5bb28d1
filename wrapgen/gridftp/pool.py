"""The parent's side of a GridFTP server started with processes=N (`wrapgen gridftp-server --processes N`).

One Python process runs its sessions' command loops under one GIL: with several busy sessions (globus-url-copy
-cc 4) the server saturated one core while the other idled, where GCT forks a process per session. Here the
parent keeps accepting and enforcing the limits (max_sessions, max_per_address: it alone sees every session), and
hands each connection to the worker process (wrapgen.gridftp.worker) with the fewest sessions, over a
SOCK_SEQPACKET socket pair (SCM_RIGHTS). A worker that dies takes its sessions with it and is started again; the
workers end with the parent (the channel closes, and PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .. import proc
from .errors import GridFTPError

ENV = "WRAPGEN_GRIDFTP_WORKER"  # the settings a worker builds its server from, as JSON


@dataclass
class Worker:
    """The parent's side of one worker process."""

    proc: subprocess.Popen
    channel: socket.socket
    sessions: dict[int, str] = field(default_factory=dict)  # session id -> client address


class Pool:
    """The parent's worker processes: where accepted connections go, and how many sessions each address has."""

    def __init__(self, processes: int, config: dict[str, Any]) -> None:
        self.processes, self.config = processes, config
        self._lock = threading.Lock()
        self._workers: list[Worker] = []
        self._next_id = 0
        self._stopping = False

    def start(self) -> None:
        """Start the workers (each has loaded the server's modules and settings when this returns)."""
        errors: list[GridFTPError] = []
        started = [threading.Event() for _ in range(self.processes)]
        for event in started:
            threading.Thread(target=self._slot, args=(event, errors), name="gridftp-worker", daemon=True).start()
        for event in started:
            event.wait()
        if errors:
            self.stop()
            raise errors[0]

    def _slot(self, started: threading.Event, errors: list[GridFTPError]) -> None:
        """One worker's place: start it, listen to it, start another when it dies, until the pool stops. The
        workers are started here, in a thread that lives as long as the pool, because PR_SET_PDEATHSIG ends a
        child when the thread that started it ends (a worker started by a passing thread died with it)."""
        while True:
            try:
                w = self._spawn()
            except GridFTPError as exc:
                if not started.is_set():
                    errors.append(exc)
                    started.set()
                return
            with self._lock:
                if self._stopping:
                    w.channel.close()
                    w.proc.wait()
                    started.set()
                    return
                self._workers.append(w)
            began = time.monotonic()
            started.set()
            self._listen(w)
            with self._lock:
                self._workers.remove(w)
                if self._stopping:
                    return
            if time.monotonic() - began < 1.0:
                time.sleep(0.5)  # a worker that dies at once again and again must not spin this thread

    def _spawn(self) -> Worker:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {**os.environ, ENV: json.dumps(self.config)}
        p = subprocess.Popen([sys.executable, "-P", "-m", "wrapgen.gridftp.worker", "--fd", str(child.fileno())],
                             pass_fds=[child.fileno()], env=env, stdin=subprocess.DEVNULL,
                             preexec_fn=proc.die_with_parent)
        child.close()
        ready = parent.recv(4096)  # b"ready", or a start-up error
        if ready != b"ready":
            p.wait()
            parent.close()
            raise GridFTPError(f"a server worker did not start: {ready.decode(errors='replace') or 'it exited'}")
        return Worker(p, parent)

    def counts(self, ip: str) -> tuple[int, int]:
        """(sessions in all workers, sessions from ip)."""
        with self._lock:
            every = [a for w in self._workers for a in w.sessions.values()]
        return len(every), every.count(ip)

    def hand(self, conn: socket.socket, addr: tuple[str, int]) -> bool:
        """Give a connection to the least busy worker (this process's copy of it is closed); False if there is
        none at the moment (every worker is being replaced), and the connection is left to the caller."""
        with self._lock:
            if not self._workers:
                return False
            w = min(self._workers, key=lambda w: len(w.sessions))
            self._next_id += 1
            sid = self._next_id
            w.sessions[sid] = addr[0]
        try:
            socket.send_fds(w.channel, [json.dumps({"id": sid, "addr": list(addr[:2])}).encode()], [conn.fileno()])
        except OSError:
            with self._lock:
                w.sessions.pop(sid, None)
        finally:
            conn.close()
        return True

    def _listen(self, w: Worker) -> None:
        """A worker's reports (a session ended), until its channel closes (it died, or the pool stopped)."""
        while True:
            try:
                data = w.channel.recv(4096)
            except OSError:
                data = b""
            if not data:
                break
            with self._lock:
                w.sessions.pop(json.loads(data)["end"], None)
        w.channel.close()
        w.proc.wait()

    def stop(self) -> None:
        """End every worker and their sessions."""
        with self._lock:
            self._stopping = True
            workers = list(self._workers)
        for w in workers:
            try:
                w.channel.shutdown(socket.SHUT_RDWR)  # the worker stops its sessions and exits
            except OSError:
                pass
        for w in workers:
            try:
                w.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait()

    def pids(self) -> list[int]:
        """The worker processes' ids."""
        with self._lock:
            return [w.proc.pid for w in self._workers]
