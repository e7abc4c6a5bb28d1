"""C++ objects served as WS-Resources: each object lives in a process of its own for its whole life.

`Create_<Class>` starts `python -m wrapgen.wsrf.objects` (a new session, so the sweeper and Destroy can stop it
with one killpg), which imports the library's built module, runs the constructor with the factory's arguments
and then serves the object on an abstract Unix socket named after the state database and the resource key.
Every server worker process can reach it there; calls are served one at a time (the object is not shared
between threads), each on a connection of its own. Only processes of the server's own user may connect
(SO_PEERCRED), both ways: messages are pickles, and a pickle from anyone else must never be read.

A crash of a method (segfault, STOP) ends that process only: the call gets KernelCrashed, and the resource is
marked Failed ("the object is lost"), as a computation's resource is when its process dies.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import struct
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .errors import WSRFError

_PEERCRED = struct.Struct("3i")  # pid, uid, gid
REQUEST_TIMEOUT = 5.0  # seconds an object's process waits for a request once connected (its client sends at once)


class ObjectLost(WSRFError):
    """The process holding an object ended (a crash in a method, a kill): the object is gone."""


def socket_name(state: str | os.PathLike[str], key: str) -> bytes:
    """The abstract socket an object is served on (no file, no path length limit)."""
    digest = hashlib.sha256(f"{Path(state).resolve()}\0{key}".encode()).hexdigest()[:40]
    return f"\0wrapgen-object-{digest}".encode()


def _same_user(sock: socket.socket) -> bool:
    pid, uid, gid = _PEERCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))
    return uid == os.getuid()


def start(spec: str, cls: str, state: str, key: str, args: dict[str, Any], cache: str | None, log: Path,
          timeout: float) -> int:
    """Start the process that holds one object and construct it; returns its pid. Raises what the constructor
    raised (a declared class as ("declared", name, message, code) is rebuilt by the caller), or ObjectLost."""
    import subprocess

    parent, child = socket.socketpair()
    cmd = [sys.executable, "-P", "-m", "wrapgen.wsrf.objects", "--fd", str(child.fileno()), "--spec", spec,
           "--class", cls, "--state", state, f"--key={key}"]  # a key may begin with "-"
    if cache:
        cmd += ["--cache", cache]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        p = subprocess.Popen(cmd, pass_fds=[child.fileno()], stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
    child.close()
    conn = Connection(parent.detach())
    try:
        conn.send(("construct", args))
        if not conn.poll(timeout):
            p.kill()
            raise ObjectLost(f"{cls}: the constructor gave no answer within {timeout:g} s; the process was stopped")
        kind, *rest = conn.recv()
    except (EOFError, OSError):
        p.wait()
        raise ObjectLost(f"{cls}: the process holding the object ended while constructing it (exit status "
                         f"{p.returncode}){_tail(log)}") from None
    finally:
        conn.close()
    if kind != "ready":
        p.wait()
        raise _rebuild(kind, rest)
    return p.pid


def request(state: str, key: str, message: tuple, timeout: float, log: Path | None = None) -> Any:
    """Send one request to an object's process and return its answer (or raise what the method raised)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(5.0)
        sock.connect(socket_name(state, key))
        if not _same_user(sock):  # someone else's process took the name: never read its pickles
            raise ObjectLost("the object's socket belongs to another user")
        sock.settimeout(None)
        conn = Connection(sock.detach())
    except OSError as exc:
        sock.close()
        raise ObjectLost(f"the process holding the object is gone ({exc.strerror or exc})"
                         f"{_tail(log) if log else ''}") from None
    try:
        conn.send(message)
        if not conn.poll(timeout):
            raise TimeoutError(f"no answer within {timeout:g} s")
        kind, *rest = conn.recv()
    except (EOFError, OSError):
        raise ObjectLost(f"the process holding the object ended while running {message[1] if len(message) > 1 else message[0]!r}: "
                         f"it crashed or was killed, and the object is lost{_tail(log) if log else ''}") from None
    finally:
        conn.close()
    if kind == "ok":
        return rest[0]
    raise _rebuild(kind, rest)


def destruct(state: str, key: str, timeout: float) -> None:
    """Run an object's destructor in its process, which then ends; nothing if there is no such object (a
    computation's resource, a lost object) or it does not answer in time (its process group is stopped after)."""
    try:
        request(state, key, ("destroy",), timeout)
    except (ObjectLost, TimeoutError):
        pass


def _rebuild(kind: str, rest: list) -> BaseException:
    if kind == "declared":  # a class the generated module defines: rebuilt as the same class in this process
        from ..bind.runtime import declared_class

        library, name, message, code = rest
        exc = declared_class(library, name)(message)
        exc.code = code
        return exc
    return rest[0]


def _tail(log: Path) -> str:
    from .. import proc

    try:
        return proc.log_tail(log.read_bytes()[-2000:].decode("utf-8", "replace"))
    except OSError:
        return ""


def _answer(module: Any, exc: BaseException) -> tuple:
    if type(exc).__module__ == module.__name__:  # declared by the spec: the caller does not import the module
        return ("declared", module.__name__, type(exc).__name__, str(exc), getattr(exc, "code", None))
    return ("error", exc)


def serve(conn: Connection, spec: str, cls: str, state: str, key: str, cache: str | None) -> int:
    """The object's process: construct, then serve calls until Destroy."""
    import pickle

    from ..bind.loader import load

    try:
        module = load(spec, cache=cache)
        _, args = conn.recv()
        obj = getattr(module, cls)(**args)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(socket_name(state, key))
        listener.listen(16)
    except BaseException as exc:  # noqa: BLE001 - the factory's caller gets the reason
        conn.send(_answer(module, exc) if "module" in locals() else ("error", exc))
        return 1
    conn.send(("ready",))
    conn.close()
    while True:
        client, _ = listener.accept()
        if not _same_user(client):
            client.close()
            continue
        # Calls are served one at a time: a connection that sends nothing must not hold the object (a kernel
        # timeout on the blocking reads, so the request ends in OSError below and the next one is served).
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", int(REQUEST_TIMEOUT), 0))
        c = Connection(client.detach())
        try:
            message = c.recv()
            what = message[0]
            if what == "call":
                _, method, kwargs = message
                reply: tuple = ("ok", getattr(obj, method)(**kwargs))
            elif what == "get":
                reply = ("ok", {name: getattr(obj, name) for name in message[1]})
            elif what == "destroy":
                del obj  # the C++ destructor runs here
                c.send(("ok", None))
                c.close()
                return 0
            else:
                reply = ("error", WSRFError(f"unknown request {what!r}"))
        except (EOFError, OSError):
            c.close()
            continue
        except BaseException as exc:  # noqa: BLE001 - the method's exception travels to the caller
            reply = _answer(module, exc)
        try:
            c.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            c.send(("error", WSRFError(f"the answer could not be sent back: {exc}")))
        except OSError:
            pass
        c.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m wrapgen.wsrf.objects`: hold one object (started by Create_<Class>)."""
    ap = argparse.ArgumentParser(prog="python -m wrapgen.wsrf.objects")
    ap.add_argument("--fd", type=int, required=True)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--class", dest="cls", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cache", default=None)
    a = ap.parse_args(argv)
    return serve(Connection(a.fd), a.spec, a.cls, a.state, a.key, a.cache)


if __name__ == "__main__":
    sys.exit(main())
