"""The editor's HTTP surface: the page and its vendored scripts, a JSON API over api.Editor, and node states as
server-sent events. On 127.0.0.1 unless told otherwise; every API call carries the editor's token (the page has it
from the URL the command prints), and the Host header must name this server (no DNS rebinding)."""

from __future__ import annotations

import json
import mimetypes
import queue
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .api import Editor
from .document import jsonable
from .errors import EditorError

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 8 << 20  # a 10 000-step pipeline is ~2 MiB of JSON
MAX_SUBSCRIBERS = 32
KEEPALIVE = 15.0


class EditorServer:
    """`wrapgen editor`: one Editor served over HTTP; start()/stop() or a context manager."""

    def __init__(self, editor: Editor, host: str = "127.0.0.1", port: int = 0, token: str | None = None) -> None:
        self.editor, self.host, self.port = editor, host, port
        self.token = token or secrets.token_urlsafe(24)
        # only these files are ever served: no path from a request reaches the file system
        self.files = {f"/static/{p.relative_to(STATIC).as_posix()}": p for p in STATIC.rglob("*") if p.is_file()}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.subscribers = threading.BoundedSemaphore(MAX_SUBSCRIBERS)
        self.closing = threading.Event()

    @property
    def url(self) -> str:
        """The page's URL, with the token."""
        return f"http://{self.host}:{self.port}/?token={self.token}"

    def start(self) -> EditorServer:
        """Listen and serve on a thread; the editor starts watching its journal."""
        handler = type("Handler", (_Handler,), {"app": self})
        self._httpd = _Server((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.editor.start()
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="editor-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (event streams end) and stop the editor."""
        self.closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        self.editor.stop()

    def __enter__(self) -> EditorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], OSError):
            return  # a client that hung up or stalled: its connection is closed, nothing to report
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    app: EditorServer
    timeout = 60  # a client that stops sending mid-request frees its thread
    protocol_version = "HTTP/1.1"
    server_version = "wrapgen-editor"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # the page polls nothing; errors are answered, not logged to the terminal

    # --- helpers -------------------------------------------------------------------------------------------------
    def _send(self, code: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
                         "style-src 'self' 'unsafe-inline'")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, value: Any) -> None:
        try:
            body = json.dumps(value, allow_nan=False)
        except ValueError:  # a NaN or an infinity in a parameter: as {"$float": ...}, which a save turns back
            body = json.dumps(jsonable(value), allow_nan=False)
        self._send(code, body.encode(), "application/json")

    def _error(self, code: int, message: str) -> None:
        self._json(code, {"error": message})

    def _allowed(self, api: bool) -> bool:
        host = self.headers.get("Host", "")
        if host not in (f"{self.app.host}:{self.app.port}", f"127.0.0.1:{self.app.port}",
                        f"localhost:{self.app.port}"):
            self._error(403, f"Host {host!r} is not this editor's address")
            return False
        if api:
            query = parse_qs(urlsplit(self.path).query)
            given = self.headers.get("X-Wrapgen-Token") or (query.get("token") or [""])[0]
            if not secrets.compare_digest(given.encode(), self.app.token.encode()):
                self._error(403, "a missing or wrong editor token (open the URL `wrapgen editor` printed)")
                return False
        return True

    def _body(self) -> Any:
        self.close_connection = True  # until the body is read: unread bytes must never parse as the next request
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            raise EditorError("the request body must be application/json")
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise EditorError("a bad Content-Length") from None
        if n < 0 or n > MAX_BODY:
            raise EditorError(f"the request body must be at most {MAX_BODY >> 20} MiB")
        data = self.rfile.read(n)
        if len(data) == n:
            self.close_connection = False
        try:
            return json.loads(data or b"{}")
        except json.JSONDecodeError as exc:
            raise EditorError(f"the request body is not JSON: {exc}") from None

    # --- dispatch ------------------------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        self._handle(self._get, api=urlsplit(self.path).path.startswith("/api/"))

    def do_POST(self) -> None:  # noqa: N802 - the base class's name
        self._handle(self._post, api=True)

    def _handle(self, route: Any, api: bool) -> None:
        """Check the caller, then route(path); an EditorError is a 400 with its message, a bug a 500 (the
        connection is answered, never dropped)."""
        if not self._allowed(api):
            return
        try:
            route(urlsplit(self.path).path)
        except EditorError as exc:
            self._error(400, str(exc))
        except Exception as exc:  # noqa: BLE001 - answer, never drop the connection on a bug
            self._error(500, f"{type(exc).__name__}: {exc}")

    # --- GET -----------------------------------------------------------------------------------------------------
    def _get(self, path: str) -> None:
        editor = self.app.editor
        if path in ("/", "/index.html"):
            self._send(200, (STATIC / "index.html").read_bytes(), "text/html; charset=utf-8")
        elif path in self.app.files:
            f = self.app.files[path]
            ctype = "text/javascript" if f.suffix in (".js", ".mjs") else \
                mimetypes.guess_type(f.name)[0] or "application/octet-stream"
            self._send(200, f.read_bytes(), ctype)
        elif path == "/api/palette":
            self._json(200, editor.palette.as_json())
        elif path == "/api/document":
            self._json(200, editor.document())
        elif path == "/api/report.png":
            self._send(200, editor.report(), "image/png")
        elif path == "/api/events":
            self._events()
        else:
            self._error(404, f"no {path} here")

    def _events(self) -> None:
        if not self.app.subscribers.acquire(blocking=False):
            self._error(503, f"at most {MAX_SUBSCRIBERS} pages may watch one editor")
            return
        q = self.app.editor.subscribe()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.close_connection = True
            while not self.app.closing.is_set():
                try:
                    delta = q.get(timeout=KEEPALIVE)
                except queue.Empty:
                    self.wfile.write(b": keepalive\n\n")
                else:
                    if delta.get("overflow"):
                        break  # the page fell too far behind: EventSource reconnects and is sent the whole state
                    self.wfile.write(b"data: " + json.dumps(jsonable(delta)).encode() + b"\n\n")
                self.wfile.flush()
        except OSError:
            pass  # the page went away
        finally:
            self.app.editor.unsubscribe(q)
            self.app.subscribers.release()

    # --- POST ----------------------------------------------------------------------------------------------------
    def _post(self, path: str) -> None:
        editor = self.app.editor
        body = self._body()
        if not isinstance(body, dict):
            raise EditorError("the request body must be a JSON object")
        if path == "/api/save":
            self._json(200, editor.save(graph=body.get("graph"), text=body.get("yaml")))
        elif path == "/api/services":
            url = body.get("url")
            if not isinstance(url, str):
                raise EditorError("services: give {\"url\": \"http(s)://HOST:PORT/SERVICE\"}")
            self._json(200, {"added": editor.palette.add_service(url.strip())})
        elif path == "/api/run":
            rerun, failed = body.get("rerun"), body.get("failed_of")
            for v in (rerun, failed):
                if v is not None and not isinstance(v, str):
                    raise EditorError("run: rerun and failed_of name a step")
            self._json(200, editor.run(rerun=rerun, failed_of=failed))
        elif path == "/api/cancel":
            self._json(200, editor.cancel())
        else:
            self._error(404, f"no {path} here")
