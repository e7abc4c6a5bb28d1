"""The job manager over HTTP(S): JSON or RSL in, JSON out, state changes by polling, long-polling or a server-sent
event stream. With TLS, client certificates (proxies included) are verified with GCT's checks and mapped through the
grid-mapfile; each job belongs to the identity that submitted it and is invisible to every other (404).

    POST   /jobs                      submit (application/json: a JobDescription; text/plain or application/x-rsl)
    GET    /jobs                      the caller's jobs
    GET    /jobs/ID                   one job
    DELETE /jobs/ID                   cancel
    POST   /jobs/ID/signal            {"signal": "SUSPEND" | 2, "arg": ...}
    GET    /jobs/ID/events?after=N&wait=S   state changes after N (waiting up to S seconds); text/event-stream too
    GET    /jobs/ID/stdout, /stderr   the output files the manager keeps with the job
    POST   /jobs/ID/callbacks         {"url": ..., "mask": state bits}: state changes POSTed there in order
    DELETE /jobs/ID/callbacks         {"url": ...}
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .description import JobDescription
from .errors import GRAMError, JobNotFound, RSLError
from .manager import JobManager
from .state import JobState, Signal

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20  # bytes of a request body (a job description is small)
MAX_OUTPUT = 64 << 20  # bytes of stdout/stderr sent back in one reply
IO_TIMEOUT = 30.0  # seconds a connection may stay silent (slow clients do not hold threads)


class JobServer:
    """A job manager served on host:port (127.0.0.1 unless told otherwise); start()/stop() or a context."""

    def __init__(self, manager: JobManager, host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None,
                 cert_dir: str | None = None, gridmap: str | None = None, admins: tuple[str, ...] = (),
                 max_connections: int = 256) -> None:
        if gridmap and not tls:
            raise GRAMError("a grid-mapfile needs TLS with client certificates (tls=server_context(...))", code=7)
        if tls is None and not _loopback(host):
            # without TLS every caller is the same nobody: anyone who reaches the port runs programs as us
            raise GRAMError(f"--host {host}: serving jobs beyond this machine needs TLS with client certificates "
                            "(--tls-cert, --tls-key, --tls-ca; --gridmap to choose who)", code=7)
        self.manager, self.host = manager, host
        self.tls, self.cert_dir, self.admins = tls, cert_dir, frozenset(admins)
        self.authorizer = None
        if gridmap:
            from ..gsi.authz import GridmapAuthorizer

            self.authorizer = GridmapAuthorizer(gridmap)
        if port == 0:  # the previous port if it is free: job contacts stay valid across restarts
            port = int(manager.store.meta("port") or 0)
        self._httpd = _HTTPServer(self, (host, port), max_connections)
        self.port = self._httpd.server_address[1]
        manager.store.set_meta("port", str(self.port))
        manager.contact_base = f"{self.url}/jobs"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """http(s)://host:port of the server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def contact(self, job_id: str) -> str:
        """The job contact URL of a job."""
        return f"{self.url}/jobs/{job_id}"

    def start(self) -> JobServer:
        """Serve in a thread (the manager is started too if it was not)."""
        self.manager.start()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="job-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and stop the manager (jobs keep running)."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self.manager.stop()

    def __enter__(self) -> JobServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _HTTPServer(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: JobServer, address: tuple[str, int], max_connections: int) -> None:
        self.owner = owner
        self.slots = threading.BoundedSemaphore(max_connections)
        try:
            super().__init__(address, _Handler)
        except OSError as exc:
            raise GRAMError(f"cannot listen on {address[0]}:{address[1]}: {exc.strerror}", code=3) from None

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):  # full: refuse this one rather than queue without bound
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    timeout = IO_TIMEOUT

    def setup(self) -> None:
        srv = self.server.owner
        self.identity: str | None = None
        self.denied: str | None = None
        if srv.tls is not None:
            self.request.settimeout(IO_TIMEOUT)
            try:
                self.request = srv.tls.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                self.request.close()
                raise ConnectionError(f"TLS handshake: {exc}") from None
            self._authenticate(srv)
        super().setup()

    def _authenticate(self, srv: JobServer) -> None:
        from ..gsi.errors import GSIError
        from ..gsi.tls import peer_identity

        try:
            who = peer_identity(self.request, srv.cert_dir).identity if srv.cert_dir else None
        except GSIError as exc:
            self.denied = f"the client certificate was refused: {exc}"
            return
        if who is not None and srv.authorizer is not None:
            try:
                srv.authorizer.authorize(who)
            except (GSIError, OSError) as exc:
                self.denied = f"{who} may not use this job manager: {getattr(exc, 'public', None) or exc}"
                return
        self.identity = who

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError, ssl.SSLError, socket.timeout):
            pass  # a client that went away or stalled

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # --- plumbing ---------------------------------------------------------------------------------------------
    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, code: int = 0) -> None:
        self._send(status, {"error": message, "code": code})

    def _body(self) -> bytes | None:
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            self._error(400, "Content-Length is not a number")
            return None
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            self._error(413, f"the request body is {n} bytes; at most {MAX_BODY} are accepted")
            return None
        return self.rfile.read(n)

    def _route(self, method: str) -> None:
        srv = self.server.owner
        if self.denied is not None:
            self.close_connection = True
            if method in ("POST", "PUT"):
                self._body()  # read what was sent, or closing would reset the connection under the reply
            return self._error(403, self.denied, 7)
        parts = urlsplit(self.path)
        segs = [s for s in parts.path.split("/") if s]
        query = parse_qs(parts.query)
        admin = self.identity in srv.admins if self.identity else False
        m = srv.manager
        try:
            if segs == ["jobs"] and method == "POST":
                return self._submit(m)
            if segs == ["jobs"] and method == "GET":
                return self._send(200, [self._job(r) for r in m.jobs(self.identity, admin)])
            if len(segs) >= 2 and segs[0] == "jobs":
                job_id = segs[1]
                rest = segs[2:]
                if not rest and method == "GET":
                    return self._send(200, self._job(m.get(job_id, self.identity, admin)))
                if not rest and method == "DELETE":
                    return self._send(200, self._job(m.cancel(job_id, self.identity, admin)))
                if rest == ["signal"] and method == "POST":
                    return self._signal(m, job_id, admin)
                if rest == ["callbacks"] and method in ("POST", "DELETE"):
                    return self._callback(m, job_id, method, admin)
                if rest == ["events"] and method == "GET":
                    return self._events(m, job_id, query, admin)
                if rest in (["stdout"], ["stderr"]) and method == "GET":
                    return self._output(m, job_id, rest[0], admin)
            self._error(404 if method in ("GET", "DELETE", "POST") else 405, f"no such resource: {method} {parts.path}")
        except JobNotFound as exc:
            self._error(404, str(exc), exc.code)
        except RSLError as exc:
            self._error(400, str(exc), exc.code)
        except GRAMError as exc:
            self._error(409 if exc.code in (23, 31, 107, 108, 133) else 404 if exc.code == 78 else 400, str(exc),
                        exc.code)

    def _job(self, rec: Any) -> dict[str, Any]:
        out = rec.as_json()
        out["contact"] = self.server.owner.contact(rec.id)
        return out

    def _submit(self, m: JobManager) -> None:
        body = self._body()
        if body is None:
            return
        kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return self._error(400, "the request body is not UTF-8 text", 48)
        if kind == "application/json":
            from pydantic import ValidationError

            try:
                job: JobDescription | str = JobDescription.model_validate_json(text)
            except ValidationError as exc:
                e = exc.errors()[0]
                where = ".".join(str(p) for p in e["loc"])
                return self._error(400, f"{where}: {e['msg']}" if where else e["msg"], 48)
        elif kind in ("text/plain", "application/x-rsl", "text/x-rsl", ""):
            job = text
        else:
            return self._error(415, f"Content-Type {kind!r}: send application/json or application/x-rsl", 48)
        rec = m.submit(job, self.identity)
        self._send(201, {**self._job(rec), "waiting_for_commit": rec.commit_deadline is not None})

    def _json(self) -> dict[str, Any] | None:
        """The request body as a JSON object (None when _body() has already answered)."""
        body = self._body()
        if body is None:
            return None
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            req = None
        return req if isinstance(req, dict) else {}

    def _signal(self, m: JobManager, job_id: str, admin: bool) -> None:
        req = self._json()
        if req is None:
            return
        try:
            name = req["signal"]
            sig = Signal[name.upper()] if isinstance(name, str) else Signal(int(name))
        except (ValueError, KeyError, TypeError, AttributeError):
            return self._error(400, 'expected {"signal": NAME or number, "arg": ...} with a signal of '
                                    + ", ".join(s.name for s in Signal), 108)
        self._send(200, self._job(m.signal(job_id, sig, req.get("arg"), self.identity, admin)))

    def _callback(self, m: JobManager, job_id: str, method: str, admin: bool) -> None:
        req = self._json()
        if req is None:
            return
        try:
            url = req["url"]
            mask = int(req.get("mask", 0xFFFFF))
            if not isinstance(url, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return self._error(400, 'expected {"url": "http(s)://...", "mask": state bits}', 77)
        if method == "POST":
            m.add_callback(job_id, url, mask, self.identity, admin)
        else:
            m.remove_callback(job_id, url, self.identity, admin)
        self._send(200, {"job": job_id, "url": url, "registered": method == "POST"})

    def _events(self, m: JobManager, job_id: str, query: dict[str, list[str]], admin: bool) -> None:
        try:
            after = int(query.get("after", ["0"])[0])
            wait = min(max(float(query.get("wait", ["0"])[0]), 0.0), 60.0)
        except ValueError:
            return self._error(400, "after and wait must be numbers")
        if "text/event-stream" not in self.headers.get("Accept", ""):
            got = m.events(job_id, after, wait, owner=self.identity, admin=admin)
            return self._send(200, [e.as_json() for e in got])
        m.get(job_id, self.identity, admin)  # 404 before the stream starts
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.close_connection = True
        while True:
            got = m.events(job_id, after, 15.0, owner=self.identity, admin=admin)
            if not got:
                self.wfile.write(b": still here\n\n")  # a comment keeps proxies and clients from timing out
                self.wfile.flush()
                continue
            for e in got:
                self.wfile.write(f"id: {e.seq}\nevent: state\ndata: {json.dumps(e.as_json())}\n\n".encode())
                after = e.seq
            self.wfile.flush()
            if JobState(got[-1].state).terminal:
                return

    def _output(self, m: JobManager, job_id: str, name: str, admin: bool) -> None:
        rec = m.get(job_id, self.identity, admin)
        path = Path(rec.control) / name
        desc = JobDescription.model_validate_json(rec.description)
        if getattr(desc, name) is not None and "://" not in getattr(desc, name):
            return self._error(404, f"the job's {name} goes to {getattr(desc, name)}, not a file the manager keeps")
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_OUTPUT)
        except FileNotFoundError:
            data = b""
        self._send(200, data, "application/octet-stream")

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._route("DELETE")

    def do_PUT(self) -> None:  # noqa: N802
        self._error(405, "PUT is not used by this API")
