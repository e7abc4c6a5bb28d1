"""`python -m wrapgen.gridftp.worker --fd N`: one worker process of a GridFTP server with processes=N.

It builds a Server from the parent's settings (in $WRAPGEN_GRIDFTP_WORKER, JSON) without listening, serves the
connections the parent hands over on the channel (SCM_RIGHTS) exactly as a one-process server does, and reports
each session's end; it stops when the parent closes the channel. See wrapgen.gridftp.pool.
"""

from __future__ import annotations

import json
import os
import socket
import threading

from .pool import ENV


def main(argv: list[str] | None = None) -> int:
    """Serve the connections the parent hands over until it closes the channel."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m wrapgen.gridftp.worker")
    ap.add_argument("--fd", type=int, required=True)
    args = ap.parse_args(argv)
    channel = socket.socket(fileno=args.fd)
    try:
        from .server import Server

        server = Server.from_config(json.loads(os.environ[ENV]))
        server.start_sessions()
    except Exception as exc:  # noqa: BLE001 - the parent says why the worker did not start
        channel.send(f"{type(exc).__name__}: {exc}".encode())
        return 1
    send_lock = threading.Lock()

    def ended(sid: int) -> None:
        with send_lock:
            try:
                channel.send(json.dumps({"end": sid}).encode())
            except OSError:
                pass

    channel.send(b"ready")
    try:
        while True:
            try:
                data, fds, _flags, _addr = socket.recv_fds(channel, 4096, 1)
            except OSError:
                break
            if not data:
                break
            if not fds:
                continue
            msg = json.loads(data)
            conn = socket.socket(fileno=fds[0])
            server.admit(conn, (msg["addr"][0], msg["addr"][1]), on_end=lambda sid=msg["id"]: ended(sid))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
