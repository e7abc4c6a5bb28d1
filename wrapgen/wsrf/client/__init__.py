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

from typing import Any

from ..errors import NotWrapgenService
from .function import RemoteFunction
from .instance import RemoteClass, RemoteObject
from .notify import Notification, NotificationConsumer, Subscription
from .remote import FaultTranslator, _Remote, download, make_session
from .resource import Resource

__all__ = ["FaultTranslator", "Notification", "NotificationConsumer", "RemoteClass", "RemoteFunction", "RemoteObject",
           "Resource", "ServiceProxy", "Subscription", "connect", "download", "make_session"]


class ServiceProxy:
    """A served library: one RemoteFunction attribute per kernel operation."""

    def __init__(self, url: str, timeout: float = 300.0, cert: str | tuple[str, str] | None = None,
                 verify: str | bool | None = None) -> None:
        self._r = _Remote(url, timeout, cert, verify)
        self.url = self._r.url
        binding = self._r.client.wsdl.bindings.get(f"{{{self._r.tns}}}{self._r.library}Binding")
        if binding is None:
            raise NotWrapgenService(f"{url} does not look like a wrapgen service (no {self._r.library}Binding in its WSDL)")
        self._functions: dict[str, RemoteFunction] = {}
        self._classes: dict[str, RemoteClass] = {}
        for name, op in binding._operations.items():
            if name.startswith("Create_") and name[7:] not in binding._operations:  # a served C++ class
                inputs = [n for n, _ in op.input.body.type.elements]
                self._classes[name[7:]] = c = RemoteClass(self._r, name[7:], inputs)
                setattr(self, name[7:], c)
                continue
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
        return sorted([*self._functions, *self._classes])


def connect(url: str, timeout: float = 300.0, cert: str | tuple[str, str] | None = None,
            verify: str | bool | None = None) -> ServiceProxy:
    """A proxy for the service at URL (http(s)://host:port/<library>).

    For HTTPS: cert is the client certificate file (with its key) or (certificate, key); verify the CA
    file or directory that signed the server's certificate.
    """
    return ServiceProxy(url, timeout, cert, verify)
