"""The WSGI application: routes SOAP requests to kernel operations, factories and WS-Resource operations.

    POST /<library>              kernel operations (stateless) and Create_<function> factories
    POST /<library>/<function>   a WS-Resource of that function (key in a wsa reference parameter)
    GET  /<library>?wsdl         the WSDL of the kernel operations and factories
    GET  /<library>/<function>?wsdl   the WSDL of that function's WS-Resource port
    GET  /<library>/blob/<token> a large array offered for download (raw little-endian bytes)

Every SOAP fault is answered with HTTP 500, client faults included (their faultcode stays soap:Client), as WS-I
Basic Profile 1.1 R1126 requires: GT4-era Java clients (Axis 1.4 SAAJ and WSDL2Java stubs) read the fault only
then. 4xx is for what is not a SOAP exchange: 404 (no such path), 405 (method), 413 (too large, before
parsing), 415 (not XML), 403 (a caller the grid-mapfile refuses). Nothing a client sends can take a worker
down: every error becomes a SOAP Fault.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from lxml import etree

from . import ns as N
from .codec import Splicer
from .envelope import Request, envelope, fault_envelope, parse_request, serialize
from .errors import ClientFault, SoapFault, WSRFError
from .faults import kernel_fault
from .instances import InstanceHandlers
from .model import ServiceModel, service_model
from .notify import NotificationHandlers
from .resource import ResourceHandlers
from .settings import default
from .store import QuotaExceeded, Store
from .values import decode_params, encode_outputs
from .wsdl import build_wsdl, kernel_action

log = logging.getLogger("wrapgen.wsrf")


class TooLarge(ClientFault):
    """A request over the size limit (HTTP 413, refused before parsing)."""


class BadHTTP(ClientFault):
    """A request whose HTTP body could not be read (HTTP 400: not a SOAP exchange at all)."""


@dataclass
class ServiceConfig:
    """What a server publishes and its limits (also what `wrapgen serve` options set)."""

    specs: list[str]
    state: str
    max_request: int = default("max_request")  # bytes; larger requests are refused before parsing
    inline_limit: int = default("inline_limit")  # arrays above this many bytes are offered as a download URL
    lifetime: float | None = default("lifetime")  # initial lifetime of a new WS-Resource, seconds (None: no limit)
    blob_ttl: float = 3600.0  # how long a stateless call's download stays available
    query_timeout: float = 2.0  # seconds for one QueryResourceProperties evaluation
    cache: str | None = None  # wrapgen build cache
    gridmap: str | None = None  # with HTTPS: only identities in this grid-mapfile may call
    trust_dir: str | None = None  # X509_CERT_DIR-style directory the identities are checked against
    notify_allow: list[str] = field(default_factory=list)  # non-public networks consumers may be on (CIDRs)
    admins: list[str] = field(default_factory=list)  # identities that may use every resource, not only their own
    blob_quota: int = default("blob_quota")  # bytes of stateless results held for download, per owner
    call_timeout: float = default("call_timeout")  # seconds a direct (stateless) call may take; longer: resources

    def to_env(self) -> dict[str, str]:
        """The config as an environment variable for server worker processes."""
        import json

        return {"WRAPGEN_WSRF_CONFIG": json.dumps(self.__dict__)}

    @classmethod
    def from_env(cls) -> ServiceConfig:
        """The config a worker process was started with."""
        import json

        return cls(**json.loads(os.environ["WRAPGEN_WSRF_CONFIG"]))


@dataclass
class Call:
    """One HTTP request's context."""

    base_url: str
    model: ServiceModel
    identity: str | None = None  # the caller's verified grid identity (HTTPS with a grid-mapfile), else None
    request: Request | None = None
    splicer: Splicer = field(default_factory=Splicer)


class WsrfApp:
    """A WSGI application serving every spec of a ServiceConfig."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.models: dict[str, ServiceModel] = {}
        for spec in config.specs:
            m = service_model(spec)
            if m.name in self.models:
                raise WSRFError(f"{spec}: library name {m.name!r} is already served by {self.models[m.name].spec}")
            self.models[m.name] = m
        self.store = Store(config.state)
        self.resources = ResourceHandlers(self)
        self.instances = InstanceHandlers(self)
        self.notifications = NotificationHandlers(self)
        self._modules: dict[str, Any] = {}
        self._modules_lock = threading.Lock()
        self._wsdl: dict[tuple[str, str, str], bytes] = {}
        self._authorizer: Any = None  # wrapgen.gsi.authz.GridmapAuthorizer, made on the first authenticated call

    # --- kernel calls -------------------------------------------------------------------------------------
    def module(self, model: ServiceModel) -> Any:
        """The library's isolated module (one worker process per function, started on first use)."""
        with self._modules_lock:  # request threads of one worker process share it
            mod = self._modules.get(model.name)
            if mod is None:
                from ..bind.isolate import IsolatedModule

                mod = self._modules[model.name] = IsolatedModule(model.spec, cache=self.config.cache)
                # A direct call holds a request thread: it gets at most call_timeout (long ones are resources)
                for name in model.operations:
                    f = getattr(mod, name)
                    f.timeout = min(f.timeout or self.config.call_timeout, self.config.call_timeout)
            return mod

    def close(self) -> None:
        """Stop the kernel workers of this process."""
        for mod in self._modules.values():
            mod.close()
        self._modules.clear()

    def offloader(self, call: Call, resource: str | None) -> Callable[[Any], str | None]:
        """Offer arrays above the inline limit as download URLs."""
        from .codec import array_parts

        def offload(arr: Any) -> str | None:
            if getattr(arr, "nbytes", 0) <= self.config.inline_limit:
                return None
            data = array_parts(arr)[3]
            try:
                token = self.store.put_blob(data, resource, None if resource else time.time() + self.config.blob_ttl,
                                            owner=call.identity, quota=self.config.blob_quota)
            except QuotaExceeded as exc:
                raise ClientFault(str(exc)) from None
            return f"{call.base_url}/{call.model.name}/blob/{token}"
        return offload

    # --- WSGI ---------------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/").strip("/").split("/")
        base = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST') or environ.get('SERVER_NAME')}"
        method = environ.get("REQUEST_METHOD", "GET")
        model = self.models.get(path[0])
        if model is None:
            if path == [""] and method == "GET":
                return self._text(start_response, "200 OK", self._index(base))
            return self._text(start_response, "404 Not Found", f"no service at /{'/'.join(path)}; served: "
                              + ", ".join(f"/{n}" for n in self.models) + "\n")
        call = Call(base, model)
        if self.config.gridmap:
            refusal = self._authorize(environ)
            if refusal is not None:
                return self._soap(start_response, "403 Forbidden", serialize(fault_envelope(refusal)))
            call.identity = environ.get("wrapgen.identity")
        if method == "GET":
            return self._get(call, path, environ, start_response)
        if method != "POST":
            return self._text(start_response, "405 Method Not Allowed", "use POST for SOAP, GET for ?wsdl\n")
        op = cm = None
        special = len(path) == 2 and path[1] in ("subscriptions", "pullpoints")
        if len(path) == 2 and not special:
            op, cm = model.operations.get(path[1]), model.classes.get(path[1])
        if len(path) > 2 or (len(path) == 2 and op is None and cm is None and not special):
            return self._text(start_response, "404 Not Found", f"no resource type at /{'/'.join(path)}\n")
        ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if ctype and not (ctype.endswith("/xml") or ctype.endswith("+xml")):
            return self._text(start_response, "415 Unsupported Media Type",
                              f"a SOAP request is text/xml (SOAP 1.1), not {ctype[:60]}\n")
        try:
            body = self._read(environ)
            call.request = parse_request(body)
            if special:
                env = (self.notifications.manager if path[1] == "subscriptions" else self.notifications.pullpoint)(call)
            elif cm is not None:
                env = self.instances.dispatch(call, cm)
            elif op is None:
                env = self._library_call(call)
            else:
                env = self.resources.dispatch(call, op)
            return self._soap(start_response, "200 OK", call.splicer.splice(serialize(env)))
        except SoapFault as f:
            relates = call.request.message_id if call.request else None
            status = "413 Content Too Large" if isinstance(f, TooLarge) else "400 Bad Request" \
                if isinstance(f, BadHTTP) else "500 Internal Server Error"
            return self._soap(start_response, status, serialize(fault_envelope(f, relates)))
        except Exception as exc:  # a bug must still answer as a fault and keep the worker serving
            log.exception("internal error")
            f = SoapFault(f"internal error: {type(exc).__name__}: {exc}")
            return self._soap(start_response, "500 Internal Server Error", serialize(fault_envelope(f)))

    def may_use(self, call: Call, owner: str | None) -> bool:
        """Whether the caller owns what it addresses, is an admin, or there are no owners (no authentication)."""
        return owner is None or call.identity == owner or call.identity in self.config.admins

    def check_owner(self, call: Call, owner: str | None, what: str) -> None:
        """Refuse (AccessDenied fault) a caller who is neither the owner of what it addresses nor an admin.
        Without authentication there are no owners; with it every resource, subscription, pull point and
        download belongs to the identity that made it."""
        if self.may_use(call, owner):
            return
        raise ClientFault(f"access denied: this {what} belongs to another identity",
                          element=N.q(call.model.tns, "AccessDeniedFault"))

    def _authorize(self, environ: dict[str, Any]) -> SoapFault | None:
        """None if the client's verified identity is in the grid-mapfile, else the fault that says why not."""
        from ..gsi import GSIError
        from ..gsi.authz import GridmapAuthorizer
        from ..gsi.tls import peer_identity

        sock = environ.get("gunicorn.socket")
        if sock is None or not hasattr(sock, "getpeercert"):
            return ClientFault("this service authorizes callers by certificate; connect over HTTPS with one")
        try:
            ident = peer_identity(sock, self.config.trust_dir or "")
            if self._authorizer is None:
                self._authorizer = GridmapAuthorizer(self.config.gridmap or "")
            account = self._authorizer.authorize(ident.identity)
        except (GSIError, OSError) as exc:
            log.warning("refused a caller: %s", exc)
            # the client is told who was refused, never the server's paths or other accounts
            public = getattr(exc, "public", None) or ("the server could not check the caller" if isinstance(exc, OSError) else str(exc))
            return ClientFault(f"not authorized: {public}")
        environ["wrapgen.identity"], environ["wrapgen.account"] = ident.identity, account
        return None

    def _read(self, environ: dict[str, Any]) -> bytes:
        cap = self.config.max_request
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            raise ClientFault("Content-Length is not a number") from None
        if length > cap:
            raise TooLarge(f"the request has {length} bytes, over this server's limit of {cap} bytes; "
                           "send large inputs by reference or raise --max-request")
        stream = environ["wsgi.input"]
        try:
            data = stream.read(length) if length >= 0 else stream.read(cap + 1)
        except Exception as exc:  # the HTTP server's parser: a malformed chunked body, one that ended early or
            # stalled past the read deadline; nothing to log, the client gets a 400 if it still listens
            raise BadHTTP(f"the request body could not be read: {type(exc).__name__}: {exc}") from None
        if len(data) > cap:
            raise TooLarge(f"the request is over this server's limit of {cap} bytes")
        if length >= 0 and len(data) != length:
            raise ClientFault(f"the request ended after {len(data)} of {length} bytes")
        done = environ.get("wrapgen.body_read")  # the server's worker: the body's deadline is over
        if done is not None:
            done()
        return data

    def _get(self, call: Call, path: list[str], environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "")
        if len(path) == 3 and path[1] == "blob":
            found = self.store.get_blob(path[2])
            if found is None:
                return self._text(start_response, "404 Not Found", "no such download (expired, fetched or destroyed)\n")
            data, owner = found
            if not self.may_use(call, owner):
                return self._text(start_response, "403 Forbidden", "access denied: this download belongs to another "
                                                                   "identity\n")
            self.store.drop_blob(path[2])  # a stateless call's result is handed out once; this frees its space
            start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                      ("Content-Length", str(len(data)))])
            return [data]
        if query.lower() in ("wsdl", "wsdl=") and (len(path) == 1 or (len(path) == 2 and (
                path[1] in call.model.operations or path[1] in call.model.classes
                or path[1] in ("subscriptions", "pullpoints")))):
            resource = path[1] if len(path) == 2 else None
            key = (call.model.name, call.base_url, resource or "")
            if key not in self._wsdl:
                if resource in call.model.classes:
                    from .wsdl_objects import build_object_wsdl

                    self._wsdl[key] = build_object_wsdl(call.model, call.model.classes[resource], call.base_url)
                else:
                    self._wsdl[key] = build_wsdl(call.model, call.base_url, resource)
            data = self._wsdl[key]
            start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(data)))])
            return [data]
        return self._text(start_response, "404 Not Found", f"GET {'/'.join(path)}?wsdl for the service description\n")

    def _index(self, base: str) -> str:
        lines = ["wrapgen WS-RF services", ""]
        for m in self.models.values():
            lines.append(f"{m.name} {m.lib.version}: {base}/{m.name}?wsdl  operations: {', '.join(m.operations)}"
                         + "".join(f"; objects: {base}/{m.name}/{c}?wsdl" for c in m.classes))
            for fname, why in m.skipped.items():
                lines.append(f"    not served: {fname}: {why}")
        return "\n".join(lines) + "\n"

    @staticmethod
    def _text(start_response: Callable, status: str, text: str) -> Iterable[bytes]:
        data = text.encode()
        start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))])
        return [data]

    @staticmethod
    def _soap(start_response: Callable, status: str, data: bytes) -> Iterable[bytes]:
        start_response(status, [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(data)))])
        return [data]

    # --- library port: kernel operations and factories ---------------------------------------------------
    def _library_call(self, call: Call) -> etree._Element:
        model, req = call.model, call.request
        assert req is not None
        tag = req.body.tag
        ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        if tag == N.q(N.WSNT, "CreatePullPoint"):
            return self.notifications.create_pullpoint(call)
        if ns != model.tns:
            raise ClientFault(f"unknown operation <{tag}> on /{model.name}: expected an element in {model.tns} "
                              f"(operations: {', '.join(model.operations)}; factories: "
                              f"{', '.join('Create_' + o for o in model.operations)})")
        if local in model.operations:
            op = model.operations[local]
            params = decode_params(req.body, model.tns, op, require=True)
            fn = getattr(self.module(model), op.name)
            try:
                returned = fn(**params)
            except Exception as exc:
                from ..bind.errors import KernelTimeout

                if isinstance(exc, KernelTimeout) and fn.timeout == self.config.call_timeout:
                    raise ClientFault(f"{op.name} took longer than this server's {self.config.call_timeout:g} s limit "
                                      f"for a direct call; create a WS-Resource (Create_{op.name}, then Start) for "
                                      "long computations", element=N.q(model.tns, "KernelFault"),
                                      exception="KernelTimeout") from None
                raise kernel_fault(exc, model.tns) from None
            body = etree.Element(N.q(model.tns, f"{op.name}Response"), nsmap={"tns": model.tns})
            encode_outputs(body, model.tns, op, op.collect(returned, params), self.offloader(call, None), call.splicer)
            return envelope(body, kernel_action(model, op.name, True), req.message_id)
        if local.startswith("Create_") and local[7:] in model.operations:
            return self.resources.create(call, model.operations[local[7:]])
        if local.startswith("Create_") and local[7:] in model.classes:
            return self.instances.create(call, model.classes[local[7:]])
        raise ClientFault(f"unknown operation {local!r} on /{model.name}; operations: {', '.join(model.operations)}; "
                          f"factories: {', '.join('Create_' + o for o in model.operations)}")


def make_app(config: ServiceConfig) -> WsrfApp:
    """The WSGI application for a config."""
    return WsrfApp(config)
