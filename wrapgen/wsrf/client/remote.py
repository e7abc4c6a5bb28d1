"""The plumbing of `wrapgen.connect`: HTTP sessions (client certificates, CA), the zeep client built from the
WSDL, fault translation into Python exceptions, NDArray values both ways, and a kernel operation as a
callable (RemoteFunction) whose `create()` makes a WS-Resource."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np
from lxml import etree

from ...bind import errors as bind_errors
from ...bind.runtime import declared_class
from .. import ns as N
from ..codec import array_from_parts, array_parts, write_ndarray
from ..errors import RemoteFault, ResourceUnknown, WSRFError
from ..status import TERMINAL

_STATUS_DONE = TERMINAL


def _why(session: Any, url: str, exc: Exception) -> str:
    """The server's own explanation (a SOAP faultstring) when a GET failed with an HTTP error."""
    try:
        r = session.get(url, timeout=30)
    except OSError:
        return str(exc)
    if r.status_code == 200:
        return str(exc)
    from ..envelope import parse_xml

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


#: the isolated-call errors a service reports by name (wrapgen.bind.errors)
ISOLATED = frozenset({"KernelCrashed", "KernelExited", "KernelTimeout", "KernelOutOfMemory"})


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
            isolated = getattr(bind_errors, name, None) if name in ISOLATED else None
            # a worker's STOP, crash, timeout or memory limit: the class an isolated local call raises is a base,
            # so one except clause serves both; a spec's own classes derive from the very class the local module
            # raises (wrapgen.bind.runtime.declared_class: one per library and name in the process)
            bases = (RemoteFault, isolated) if isolated is not None else \
                (RemoteFault, declared_class(self.library, name))
            self._classes[name] = type(name, bases, {"__module__": self.library, "__doc__": f"Raised by {self.url}."})
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


def _append_value(parent: etree._Element, tns: str, name: str, value: Any, inner: str | None = None) -> None:
    e = etree.SubElement(parent, f"{{{tns}}}{name}")
    inner = inner or tns  # the namespace of NDArray/Complex fields, when the element is in another
    if isinstance(value, np.ndarray):
        write_ndarray(e, inner, value)
    elif isinstance(value, (bool, np.bool_)):
        e.text = "true" if value else "false"
    elif isinstance(value, complex):
        etree.SubElement(e, f"{{{inner}}}re").text = repr(value.real)
        etree.SubElement(e, f"{{{inner}}}im").text = repr(value.imag)
    else:
        e.text = repr(float(value)) if isinstance(value, float) else str(value)


