"""`wrapgen.connect(URL)`: a served library as a Python object, built from its WSDL alone (zeep).

    heat = wrapgen.connect("http://127.0.0.1:8080/heat")
    heat.heat_step(u, alpha=1.0, dt=0.1, dx=1.0)       # u updated in place, as with wrapgen.load
    run = heat.heat_step.create(u=u, alpha=1.0, dt=0.1, dx=1.0)
    run.start(); run.wait(); u2 = run.result(); run.destroy()

Arrays travel as NDArray (base64, no per-element XML); results offered as a download URL are fetched.
Faults come back as exceptions: the kernel's declared classes (created on the proxy, deriving from
RemoteFault and KernelError), ValueError/TypeError for refused arguments, RemoteFault otherwise.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from lxml import etree

from ..bind.runtime import KernelError
from . import ns as N
from .codec import array_from_parts, array_parts, decode_base64, ndarray_fields, write_ndarray
from .errors import RemoteFault, ResourceUnknown, WSRFError

_STATUS_DONE = ("Succeeded", "Failed", "Cancelled")


def _why(session: Any, url: str, exc: Exception) -> str:
    """The server's own explanation (a SOAP faultstring) when a GET failed with an HTTP error."""
    try:
        r = session.get(url, timeout=30)
    except OSError:
        return str(exc)
    if r.status_code == 200:
        return str(exc)
    from .envelope import parse_xml

    try:
        fault = parse_xml(r.content, "response").find(f".//{{{N.SOAP_ENV}}}Fault")
        text = fault.findtext("faultstring") if fault is not None else r.text[:300]
    except Exception:
        text = r.text[:300]
    return f"HTTP {r.status_code}: {text}"


def make_session(cert: str | tuple[str, str] | None = None, verify: str | bool | None = None) -> Any:
    """A requests session with a client certificate (a proxy file works) and the CA to trust, for HTTPS."""
    import requests

    session = requests.Session()
    if cert is not None:
        session.cert = cert
    if verify is not None:
        session.verify = verify  # a CA file, or a directory of hashed CA certificates
        # Otherwise REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment override it (requests#3829).
        session.trust_env = False
    return session


def download(session: Any, url: str, timeout: float) -> bytes:
    """GET a result offered by URL (with the session's client certificate, for HTTPS services)."""
    try:
        r = session.get(url, timeout=timeout)
    except OSError as exc:
        raise WSRFError(f"cannot download {url}: {exc}") from None
    if r.status_code != 200:
        raise WSRFError(f"cannot download {url}: HTTP {r.status_code}: {r.text[:200]}")
    return r.content


def _zeep() -> Any:
    import zeep

    return zeep


class FaultTranslator:
    """Turns SOAP faults from one service into Python exceptions (declared classes made once, on demand)."""

    def __init__(self, tns: str, library: str, url: str) -> None:
        self.tns, self.library, self.url = tns, library, url
        self._classes: dict[str, type[BaseException]] = {}

    def exception_class(self, name: str) -> type[BaseException]:
        """The Python class for a fault's Exception name."""
        builtin = getattr(builtins, name, None)
        if name in ("ValueError", "TypeError") and isinstance(builtin, type):
            return builtin
        if name not in self._classes:
            self._classes[name] = type(name, (RemoteFault, KernelError), {"__module__": self.library,
                                                                          "__doc__": f"Raised by {self.url}."})
        return self._classes[name]

    def translate(self, fault: Any) -> BaseException:
        """A fault (zeep's, or anything with .message and .detail) as the exception the server raised."""
        detail = fault.detail
        element = exception = code = None
        if detail is not None and len(detail):
            d = detail[0]
            element = d.tag
            exception = d.findtext(f"{{{self.tns}}}Exception")
            code = d.findtext(N.q(N.BF, "ErrorCode"))
        message = fault.message or "SOAP fault"
        if exception:
            cls = self.exception_class(exception)
            if issubclass(cls, RemoteFault):
                exc = cls(message, element, code, exception)
                if code is not None:
                    try:
                        exc.code = int(code)
                    except ValueError:
                        exc.code = code
                return exc
            return cls(message)
        if element == N.q(N.R, "ResourceUnknownFault"):
            return ResourceUnknown(message, element, code, None)
        return RemoteFault(message, element, code, None)


class _Remote:
    """Shared plumbing: the zeep client, fault translation, NDArray conversion."""

    def __init__(self, url: str, timeout: float, cert: str | tuple[str, str] | None = None,
                 verify: str | bool | None = None) -> None:
        zeep = _zeep()
        from zeep.transports import Transport

        self.url = url.rstrip("/").removesuffix("?wsdl")
        self.library = self.url.rsplit("/", 1)[-1]
        self.timeout = timeout
        session = make_session(cert, verify)
        transport = Transport(timeout=timeout, operation_timeout=None, session=session)
        settings = zeep.Settings(xml_huge_tree=True, strict=True)
        try:
            self.client = zeep.Client(self.url + "?wsdl", transport=transport, settings=settings)
        except Exception as exc:
            raise WSRFError(f"cannot load the WSDL of {self.url}: {_why(session, self.url + '?wsdl', exc)}") from None
        self.tns = f"urn:wrapgen:{self.library}"
        self.faults = FaultTranslator(self.tns, self.library, self.url)

    def call(self, service: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call an operation, translating faults."""
        zeep = _zeep()
        try:
            return getattr(service, name)(*args, **kwargs)
        except zeep.exceptions.Fault as f:
            raise self.faults.translate(f) from None
        except zeep.exceptions.TransportError as exc:
            raise WSRFError(f"{self.url}: HTTP {exc.status_code}: {exc.message}") from None

    @staticmethod
    def to_ndarray(value: Any) -> dict[str, Any]:
        """A numpy array (or array-like) as NDArray fields."""
        dtype, shape, order, data = array_parts(np.asarray(value))
        return {"dtype": dtype, "shape": shape, "order": order, "data": data}

    def from_ndarray(self, name: str, nd: Any) -> np.ndarray:
        """NDArray fields (inline or by download URL) as a numpy array."""
        data = nd.data
        if data is None and nd.href:
            data = download(self.client.transport.session, nd.href, self.timeout)
        return array_from_parts(name, nd.dtype, list(nd.shape or []), nd.order, data)

    def decode(self, name: str, value: Any) -> Any:
        """A zeep value as Python/numpy."""
        if hasattr(value, "dtype") and hasattr(value, "shape") and hasattr(value, "order"):
            return self.from_ndarray(name, value)
        if hasattr(value, "re") and hasattr(value, "im"):
            return complex(value.re, value.im)
        return value

    def encode(self, value: Any) -> Any:
        """A Python/numpy value for zeep."""
        if isinstance(value, np.ndarray):
            return self.to_ndarray(value)
        if isinstance(value, complex):
            return {"re": value.real, "im": value.imag}
        if isinstance(value, np.generic):
            return value.item()
        return value


class RemoteFunction:
    """One kernel operation of a served library; .create() makes a WS-Resource for it."""

    def __init__(self, remote: _Remote, name: str, inputs: list[tuple[str, bool]], outputs: list[str]) -> None:
        self._r, self.__name__ = remote, name
        self.inputs, self.outputs = inputs, outputs
        self.__doc__ = f"{name}({', '.join(n if req else n + '=...' for n, req in inputs)}) on {remote.url}"

    def _bind_args(self, args: tuple, kwargs: dict) -> dict[str, Any]:
        names = [n for n, _ in self.inputs]
        if len(args) > len(names):
            raise TypeError(f"{self.__name__}() takes {len(names)} arguments, {len(args)} given")
        given = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names:
                raise TypeError(f"{self.__name__}() got an unexpected argument {k!r}; arguments: {', '.join(names)}")
            if k in given:
                raise TypeError(f"{self.__name__}() got argument {k!r} twice")
            given[k] = v
        return given

    def output_values(self, response: Any) -> list[Any]:
        """The raw output values of a response (zeep unwraps a response with a single element)."""
        if len(self.outputs) == 1:
            return [response]
        return [getattr(response, n) for n in self.outputs]

    def unpack(self, response: Any, given: dict[str, Any]) -> Any:
        """Outputs as the local module returns them: inout arrays updated in place, the rest returned."""
        returned = []
        for n, raw in zip(self.outputs, self.output_values(response)):
            value = self._r.decode(n, raw)
            original = given.get(n)
            if isinstance(original, np.ndarray) and isinstance(value, np.ndarray) and original.flags.writeable:
                np.copyto(original, value)  # an inout array: same in-place contract as wrapgen.load
            else:
                returned.append(value)
        return None if not returned else returned[0] if len(returned) == 1 else tuple(returned)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        given = self._bind_args(args, kwargs)
        missing = [n for n, req in self.inputs if req and n not in given]
        if missing:
            raise TypeError(f"{self.__name__}() missing argument(s): {', '.join(missing)}")
        response = self._r.call(self._r.client.service, self.__name__,
                                **{k: self._r.encode(v) for k, v in given.items()})
        return self.unpack(response, given)

    def create(self, **params: Any) -> Resource:
        """A new WS-Resource for one computation (parameters may also be set later)."""
        given = self._bind_args((), params)
        epr = self._r.call(self._r.client.service, f"Create_{self.__name__}",
                           **{k: self._r.encode(v) for k, v in given.items()})
        address = epr.Address if not isinstance(epr.Address, dict) else epr.Address["_value_1"]
        rp = epr.ReferenceParameters
        key = next((e.text for e in (rp._value_1 if rp is not None else []) if etree.QName(e).localname ==
                    "ResourceKey"), None)
        if not key:
            raise WSRFError(f"the EndpointReference from {self._r.url} carries no ResourceKey")
        return Resource(address, key, self._r.tns, self.__name__, self._r.timeout, fn=self, faults=self._r.faults,
                        session=self._r.client.transport.session)


class Resource:
    """A WS-Resource for one computation: properties, start, wait, result, cancel, destroy.

    Its operations are sent as plain XML (the reference parameter as a header block): resource
    properties are open content (xs:any), which a typed client would reshape.
    """

    def __init__(self, address: str, key: str, tns: str, function: str, timeout: float = 300.0,
                 fn: RemoteFunction | None = None, faults: FaultTranslator | None = None,
                 session: Any = None) -> None:
        self.address, self.key, self.tns, self.function, self.timeout = address, key, tns, function, timeout
        self.fn = fn
        self._faults = faults or FaultTranslator(tns, tns.rsplit(":", 1)[-1], address)
        self._session = session if session is not None else make_session()
        self._ns = f"{tns}:{function}"

    @classmethod
    def from_epr(cls, epr: etree._Element | bytes | str, timeout: float = 300.0, session: Any = None) -> Resource:
        """A resource addressed by a WS-Addressing EndpointReference (XML, as Create returns it)."""
        from .envelope import parse_epr, parse_xml

        if not isinstance(epr, etree._Element):
            epr = parse_xml(epr.encode() if isinstance(epr, str) else epr, "EndpointReference")
        if epr.tag != N.q(N.WSA, "EndpointReference"):
            found = epr.find(f".//{N.q(N.WSA, 'EndpointReference')}")
            if found is None:
                raise WSRFError(f"expected a wsa:EndpointReference ({N.WSA}), got <{epr.tag}>")
            epr = found
        address, params = parse_epr(epr)
        keys = [(qn, v) for qn, v in params.items() if qn.endswith("}ResourceKey")]
        if not keys:
            raise WSRFError("the EndpointReference has no ResourceKey reference parameter")
        qn, key = keys[0]
        tns = qn[1:].split("}")[0]
        return cls(address, key, tns, address.rstrip("/").rsplit("/", 1)[-1], timeout, session=session)

    def epr(self) -> etree._Element:
        """This resource's EndpointReference."""
        from .envelope import epr

        return epr(self.address, f"{{{self.tns}}}ResourceKey", self.key)

    def _post(self, body: etree._Element, action: str) -> etree._Element:
        from .envelope import reference_headers

        return self._post_to(self.address, body, action, reference_headers({f"{{{self.tns}}}ResourceKey": self.key}))

    def _post_to(self, address: str, body: etree._Element, action: str, headers: list[etree._Element]) \
            -> etree._Element:
        from .envelope import envelope, parse_xml, serialize

        if not address.startswith(("http://", "https://")):
            raise WSRFError(f"cannot send to {address!r}: not an http(s) endpoint")
        data = serialize(envelope(body, action, to=address, extra_headers=headers))
        try:
            resp = self._session.post(address, data=data, timeout=self.timeout,
                                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'})
        except OSError as exc:
            raise WSRFError(f"{address}: {exc}") from None
        try:
            env = parse_xml(resp.content, "response")
            result = env.find(N.q(N.SOAP_ENV, "Body"))[0]
        except Exception:
            raise WSRFError(f"{address}: HTTP {resp.status_code}: not a SOAP response: "
                            f"{resp.content[:200]!r}") from None
        if result.tag == N.q(N.SOAP_ENV, "Fault"):
            raise self._faults.translate(_FaultView(result))
        return result

    def _own(self, name: str) -> etree._Element:
        return self._post(etree.Element(f"{{{self._ns}}}{name}"),
                          f"{self._ns}/{self.function}ResourcePortType/{name}Request")

    def _wsrf(self, operation: str, body: etree._Element | None = None) -> etree._Element:
        if body is None:
            body = etree.Element(N.q(N.BODY_NS[operation], operation))
        return self._post(body, N.action(operation))

    def _function(self) -> RemoteFunction:
        if self.fn is None:
            raise WSRFError("this resource was opened from an EPR alone; use connect(URL).<function>.create() "
                            "to have typed parameters")
        return self.fn

    def document(self) -> etree._Element:
        """The resource property document as XML."""
        return self._wsrf("GetResourcePropertyDocument")[0]

    @property
    def properties(self) -> dict[str, Any]:
        """Status, Progress, Parameters, Result (when done), Error, CurrentTime and TerminationTime."""
        out: dict[str, Any] = {}
        for e in self.document():
            local = etree.QName(e).localname
            if local in ("Parameters", "Result"):
                out[local] = {etree.QName(c).localname: self._value(c) for c in e}
            elif local == "Progress":
                out[local] = float(e.text)
            elif local == "TerminationTime":
                out[local] = None if e.get(N.q(N.XSI, "nil")) in ("true", "1") else e.text
            elif local != "QueryExpressionDialect":
                out[local] = e.text
        return out

    def _value(self, e: etree._Element) -> Any:
        ns = etree.QName(e).namespace
        name = etree.QName(e).localname
        if e.find(f"{{{ns}}}dtype") is not None:
            dtype, shape, order, b64, href = ndarray_fields(e, ns)
            data = download(self._session, href, self.timeout) if href and b64 is None else decode_base64(name, b64)
            return array_from_parts(name, dtype, shape, order, data)
        if e.find(f"{{{ns}}}re") is not None:
            return complex(float(e.findtext(f"{{{ns}}}re")), float(e.findtext(f"{{{ns}}}im")))
        return _typed(e.text)

    def get_property(self, qname: str) -> list[etree._Element]:
        """One resource property by QName ('{ns}local')."""
        q = etree.QName(qname)
        body = etree.Element(N.q(N.RP, "GetResourceProperty"), nsmap={"p": q.namespace} if q.namespace else None)
        body.text = f"p:{q.localname}" if q.namespace else q.localname
        return list(self._wsrf("GetResourceProperty", body))

    @property
    def status(self) -> str:
        """Created, Running, Succeeded, Failed or Cancelled."""
        return self.get_property(f"{{{self._ns}}}Status")[0].text

    def query(self, xpath: str, namespaces: dict[str, str] | None = None) -> list[Any]:
        """QueryResourceProperties with the XPath 1.0 dialect (prefix r: is this resource's namespace)."""
        body = etree.Element(N.q(N.RP, "QueryResourceProperties"))
        qe = etree.SubElement(body, N.q(N.RP, "QueryExpression"), Dialect=N.XPATH_DIALECT,
                              nsmap={"r": self._ns, "wsrf-rl": N.RL, "tns": self.tns, **(namespaces or {})})
        qe.text = xpath
        result = self._wsrf("QueryResourceProperties", body)
        items: list[Any] = list(result)
        if result.text and result.text.strip():
            items.insert(0, result.text.strip())
        return items

    def set_parameters(self, **params: Any) -> None:
        """Replace the parameters before Start (SetResourceProperties Update of Parameters)."""
        given = self._function()._bind_args((), params)
        body = etree.Element(N.q(N.RP, "SetResourceProperties"))
        p = etree.SubElement(etree.SubElement(body, N.q(N.RP, "Update")), f"{{{self._ns}}}Parameters")
        for n, _ in self._function().inputs:
            if n in given:
                _append_value(p, self.tns, n, given[n])
        self._wsrf("SetResourceProperties", body)

    def start(self) -> None:
        """Start the computation on the server."""
        self._own("Start")

    def cancel(self) -> None:
        """Stop the computation."""
        self._own("Cancel")

    def wait(self, timeout: float | None = None, interval: float = 0.05) -> str:
        """Poll until Succeeded, Failed or Cancelled; returns the status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            st = self.status
            if st in _STATUS_DONE:
                return st
            if deadline is not None and time.monotonic() > deadline:
                raise WSRFError(f"{self.function} resource still {st} after {timeout:g} s")
            time.sleep(interval)
            interval = min(interval * 1.5, 1.0)

    def result(self) -> Any:
        """The outputs as the function returns them (inout arrays too: no caller array exists), or by name."""
        resp = self._own("FetchResult")
        by_name = {etree.QName(c).localname: self._value(c) for c in resp}
        if self.fn is None:
            return by_name  # opened from an EPR alone: {output name: value}
        values = [by_name[n] for n in self.fn.outputs]
        return None if not values else values[0] if len(values) == 1 else tuple(values)

    def set_termination_time(self, seconds_from_now: float | None) -> str | None:
        """Schedule destruction after a duration (None: never); returns the new termination time."""
        body = etree.Element(N.q(N.RL, "SetTerminationTime"), nsmap={"xsi": N.XSI})
        if seconds_from_now is None:
            etree.SubElement(body, N.q(N.RL, "RequestedTerminationTime")).set(N.q(N.XSI, "nil"), "true")
        else:
            etree.SubElement(body, N.q(N.RL, "RequestedLifetimeDuration")).text = f"PT{float(seconds_from_now)!r}S"
        resp = self._wsrf("SetTerminationTime", body)
        t = resp.find(N.q(N.RL, "NewTerminationTime"))
        return None if t is None or t.get(N.q(N.XSI, "nil")) in ("true", "1") else t.text

    def destroy(self) -> None:
        """Destroy the resource (a running computation is stopped)."""
        self._wsrf("Destroy")

    def subscribe(self, callback: Callable[[Notification], Any] | None = None,
                  topics: tuple[str, ...] = ("Status", "ResourceTermination"),
                  lifetime: float | None = None, host: str = "127.0.0.1") -> Subscription:
        """Subscribe to Status changes and termination.

        With a callback, notifications are pushed to a small HTTP endpoint this process opens on host
        (callback(Notification) runs in its thread). Without one, they are kept in a pull point on the
        server and collected with Subscription.get_messages(): nothing needs to reach this machine.
        """
        consumer = None
        if callback is not None:
            consumer = NotificationConsumer(callback, host).start()
            consumer_epr = consumer.epr()
        else:
            library_url = self.address.rstrip("/").rsplit("/", 1)[0]
            body = etree.Element(N.q(N.WSNT, "CreatePullPoint"))
            resp = self._post_to(library_url, body, N.action("CreatePullPoint"), headers=[])
            consumer_epr = resp.find(N.q(N.WSNT, "PullPoint"))
            consumer_epr.tag = N.q(N.WSA, "EndpointReference")
        body = etree.Element(N.q(N.WSNT, "Subscribe"), nsmap={"wsnt": N.WSNT, "r": self._ns, "wsrf-rl": N.RL})
        ref = etree.SubElement(body, N.q(N.WSNT, "ConsumerReference"))
        import copy

        ref.extend(copy.deepcopy(list(consumer_epr)))  # extend() would move them out of the pull point's EPR
        flt = etree.SubElement(body, N.q(N.WSNT, "Filter"))
        for t in topics:
            name = {"Status": "r:Status", "ResourceTermination": "wsrf-rl:ResourceTermination"}.get(t)
            if name is None:
                raise WSRFError(f"unknown topic {t!r}; topics are Status and ResourceTermination")
            etree.SubElement(flt, N.q(N.WSNT, "TopicExpression"), Dialect=N.SIMPLE_TOPIC_DIALECT).text = name
        if lifetime is not None:
            etree.SubElement(body, N.q(N.WSNT, "InitialTerminationTime")).text = f"PT{float(lifetime)!r}S"
        try:
            resp = self._wsrf("Subscribe", body)
        except BaseException:
            if consumer is not None:
                consumer.stop()
            raise
        from .envelope import parse_epr

        address, params = parse_epr(resp.find(N.q(N.WSNT, "SubscriptionReference")))
        pull = None if consumer is not None else consumer_epr
        return Subscription(address, params, self, consumer, pull)

    def __enter__(self) -> Resource:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.destroy()
        except WSRFError:
            pass


@dataclass
class Notification:
    """One WS-BaseNotification message about a resource."""

    topic: str  # "Status" or "ResourceTermination"
    status: str | None  # the new Status (Status topic)
    old_status: str | None
    reason: str | None  # why the resource ended (ResourceTermination topic)
    resource_key: str | None
    message: etree._Element  # the whole wsnt:NotificationMessage

    @classmethod
    def from_xml(cls, msg: etree._Element) -> Notification:
        """Read a wsnt:NotificationMessage."""
        topic_el = msg.find(N.q(N.WSNT, "Topic"))
        text = (topic_el.text or "").strip() if topic_el is not None else ""
        topic = text.rpartition(":")[2]
        key = None
        producer = msg.find(N.q(N.WSNT, "ProducerReference"))
        if producer is not None:
            key = next((e.text for e in producer.iter() if isinstance(e.tag, str)
                        and e.tag.endswith("}ResourceKey")), None)
        new = msg.findtext(f".//{{{N.RP}}}NewValues/*")
        old = msg.findtext(f".//{{{N.RP}}}OldValues/*")
        reason = msg.findtext(f".//{{{N.RL}}}TerminationReason")
        return cls(topic, new, old, reason, key, msg)


class NotificationConsumer:
    """A small HTTP endpoint receiving Notify (one-way) and handing each message to a callback."""

    def __init__(self, callback: Callable[[Notification], Any], host: str = "127.0.0.1", port: int = 0) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        consumer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                from .envelope import parse_xml

                length = int(self.headers.get("Content-Length") or 0)
                try:
                    env = parse_xml(self.rfile.read(min(length, 16 * 1024 * 1024)), "Notify")
                    notify = env.find(f".//{N.q(N.WSNT, 'Notify')}")
                    messages = notify.findall(N.q(N.WSNT, "NotificationMessage")) if notify is not None else []
                except Exception:
                    self.send_response(400)
                    self.end_headers()
                    return
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                for m in messages:
                    try:
                        consumer.callback(Notification.from_xml(m))
                    except Exception:  # the callback's error must not stop later notifications
                        import logging

                        logging.getLogger("wrapgen.wsrf").exception("notification callback failed")

            def log_message(self, *args: Any) -> None:
                pass

        self.callback = callback
        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._thread: Any = None

    @property
    def address(self) -> str:
        """The URL notifications are posted to."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/notify"

    def epr(self) -> etree._Element:
        """This consumer's EndpointReference."""
        from .envelope import epr

        return epr(self.address)

    def start(self) -> NotificationConsumer:
        """Serve in a daemon thread."""
        import threading

        self._thread = threading.Thread(target=self._httpd.serve_forever, name="wsn-consumer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()


class Subscription:
    """A subscription: renew, unsubscribe, and (for a pull subscription) get_messages."""

    def __init__(self, address: str, params: dict[str, str], resource: Resource,
                 consumer: NotificationConsumer | None, pullpoint: etree._Element | None) -> None:
        self.address, self._params, self._resource = address, params, resource
        self.consumer, self._pullpoint = consumer, pullpoint

    @staticmethod
    def _headers(params: dict[str, str]) -> list[etree._Element]:
        from .envelope import reference_headers

        return reference_headers(params)

    def renew(self, seconds: float | None) -> str | None:
        """A new termination time, seconds from now (None: never); returns it."""
        body = etree.Element(N.q(N.WSNT, "Renew"), nsmap={"xsi": N.XSI})
        tt = etree.SubElement(body, N.q(N.WSNT, "TerminationTime"))
        if seconds is None:
            tt.set(N.q(N.XSI, "nil"), "true")
        else:
            tt.text = f"PT{float(seconds)!r}S"
        resp = self._resource._post_to(self.address, body, N.action("Renew"), self._headers(self._params))
        t = resp.find(N.q(N.WSNT, "TerminationTime"))
        return None if t is None or t.get(N.q(N.XSI, "nil")) in ("true", "1") else t.text

    def get_messages(self, maximum: int | None = None) -> list[Notification]:
        """Collect the notifications waiting in the pull point (oldest first)."""
        if self._pullpoint is None:
            raise WSRFError("this subscription pushes to a callback; get_messages is for pull subscriptions")
        from .envelope import parse_epr

        address, params = parse_epr(self._pullpoint)
        body = etree.Element(N.q(N.WSNT, "GetMessages"))
        if maximum is not None:
            etree.SubElement(body, N.q(N.WSNT, "MaximumNumber")).text = str(int(maximum))
        resp = self._resource._post_to(address, body, N.action("GetMessages"), self._headers(params))
        return [Notification.from_xml(m) for m in resp.findall(N.q(N.WSNT, "NotificationMessage"))]

    def unsubscribe(self) -> None:
        """End the subscription (and its pull point or local endpoint)."""
        try:
            self._resource._post_to(self.address, etree.Element(N.q(N.WSNT, "Unsubscribe")),
                                    N.action("Unsubscribe"), self._headers(self._params))
        finally:
            self.close()

    def close(self) -> None:
        """Release the local endpoint or the pull point, leaving the server's subscription as it is."""
        if self.consumer is not None:
            self.consumer.stop()
            self.consumer = None
        if self._pullpoint is not None:
            from .envelope import parse_epr

            address, params = parse_epr(self._pullpoint)
            try:
                self._resource._post_to(address, etree.Element(N.q(N.WSNT, "DestroyPullPoint")),
                                        N.action("DestroyPullPoint"), self._headers(params))
            except WSRFError:
                pass
            self._pullpoint = None

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _typed(text: str | None) -> Any:
    """A scalar's XML text as int, float or bool when it reads as one."""
    if text is None:
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text, text)


class _FaultView:
    """A SOAP Fault element with the attributes of zeep's Fault that translate() reads."""

    def __init__(self, fault: etree._Element) -> None:
        self.message = fault.findtext("faultstring")
        self.detail = fault.find("detail")


def _append_value(parent: etree._Element, tns: str, name: str, value: Any) -> None:
    e = etree.SubElement(parent, f"{{{tns}}}{name}")
    if isinstance(value, np.ndarray):
        write_ndarray(e, tns, value)
    elif isinstance(value, (bool, np.bool_)):
        e.text = "true" if value else "false"
    elif isinstance(value, complex):
        etree.SubElement(e, f"{{{tns}}}re").text = repr(value.real)
        etree.SubElement(e, f"{{{tns}}}im").text = repr(value.imag)
    else:
        e.text = repr(float(value)) if isinstance(value, float) else str(value)


class ServiceProxy:
    """A served library: one RemoteFunction attribute per kernel operation."""

    def __init__(self, url: str, timeout: float = 300.0, cert: str | tuple[str, str] | None = None,
                 verify: str | bool | None = None) -> None:
        self._r = _Remote(url, timeout, cert, verify)
        self.url = self._r.url
        binding = self._r.client.wsdl.bindings.get(f"{{{self._r.tns}}}{self._r.library}Binding")
        if binding is None:
            raise WSRFError(f"{url} does not look like a wrapgen service (no {self._r.library}Binding in its WSDL)")
        self._functions: dict[str, RemoteFunction] = {}
        for name, op in binding._operations.items():
            if name.startswith("Create_"):
                continue
            inputs = [(n, getattr(el, "min_occurs", 1) >= 1) for n, el in op.input.body.type.elements]
            outputs = [n for n, _ in op.output.body.type.elements]
            self._functions[name] = f = RemoteFunction(self._r, name, inputs, outputs)
            setattr(self, name, f)

    def __getattr__(self, name: str) -> Any:
        if "_r" in self.__dict__ and name[:1].isupper():
            return self._r.faults.exception_class(name)  # declared exception classes, as on a local module
        raise AttributeError(name)

    def __dir__(self) -> list[str]:
        return sorted(self._functions)


def connect(url: str, timeout: float = 300.0, cert: str | tuple[str, str] | None = None,
            verify: str | bool | None = None) -> ServiceProxy:
    """A proxy for the service at URL (http(s)://host:port/<library>).

    For HTTPS: cert is the client certificate file (with its key) or (certificate, key); verify the CA
    file or directory that signed the server's certificate.
    """
    return ServiceProxy(url, timeout, cert, verify)
