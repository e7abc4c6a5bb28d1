"""A served C++ class seen from the client: calling it constructs an object on the server (Create_<Class>), and
the object's methods and readable properties are the remote object's, as they are on the local class.

    particles = wrapgen.connect("http://127.0.0.1:8080/particles")
    with particles.ParticleSystem(n=2, box=5.0) as p:   # Destroy (the destructor) on leaving the block
        p.set_velocities([1.0] * 6)
        p.step(1.0); p.positions(); p.box
"""

from __future__ import annotations

from typing import Any

import numpy as np
from lxml import etree

from .. import ns as N
from ..codec import array_from_parts, decode_base64, ndarray_fields
from .function import bind_args, endpoint, update_in_place
from .remote import _Remote, _append_value, _typed, download
from .resource import Resource


class RemoteClass:
    """A served class: call it with the constructor's arguments to make an object on the server."""

    def __init__(self, remote: _Remote, name: str, inputs: list[str]) -> None:
        self._r, self.__name__, self._inputs = remote, name, inputs
        self._signatures: tuple[dict[str, list[str]], list[str]] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> RemoteObject:
        values = bind_args(self.__name__, self._inputs, args, kwargs)
        reply = self._r.call(self._r.client.service, f"Create_{self.__name__}",
                             **{k: self._r.encode(v) for k, v in values.items()})
        return RemoteObject(self, *endpoint(reply, self._r.url))

    def signatures(self) -> tuple[dict[str, list[str]], list[str]]:
        """(method -> input names, property names), from the class port's WSDL (read once)."""
        if self._signatures is None:
            import zeep

            doc = zeep.Client(f"{self._r.url}/{self.__name__}?wsdl", transport=self._r.client.transport)
            binding = doc.wsdl.bindings[f"{{{self._r.tns}}}{self.__name__}Binding"]
            methods = {n: [e for e, _ in op.input.body.type.elements] for n, op in binding._operations.items()
                       if op.input.body.qname.namespace == f"{self._r.tns}:{self.__name__}"}
            props = doc.get_element(f"{{{self._r.tns}:{self.__name__}}}ResourceProperties")
            names = [n for n, e in props.type.elements
                     if e.qname.namespace == f"{self._r.tns}:{self.__name__}"] if props is not None else []
            self._signatures = (methods, names)
        return self._signatures


class RemoteObject:
    """One object on the server: its methods, its readable properties, destroy() (the destructor)."""

    def __init__(self, cls: RemoteClass, address: str, key: str) -> None:
        r = cls._r
        self._cls, self._ns = cls, f"{r.tns}:{cls.__name__}"
        self._res = Resource(address, key, r.tns, cls.__name__, r.timeout, faults=r.faults,
                             session=r.client.transport.session)
        self.address, self.key = address, key

    def __repr__(self) -> str:
        return f"<remote {self._cls.__name__} at {self.address} key={self.key}>"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        methods, props = self._cls.signatures()
        if name in methods:
            return lambda *args, **kwargs: self._call(name, methods[name], args, kwargs)
        if name in props:
            return self._property(name)
        raise AttributeError(f"{self._cls.__name__} has no method or property {name!r} on the server "
                             f"(methods: {', '.join(methods) or 'none'}; properties: {', '.join(props) or 'none'})")

    def __dir__(self) -> list[str]:
        methods, props = self._cls.signatures()
        return sorted([*methods, *props, "destroy", "set_termination"])

    def _call(self, method: str, inputs: list[str], args: tuple, kwargs: dict[str, Any]) -> Any:
        values = bind_args(method, inputs, args, kwargs)
        body = etree.Element(f"{{{self._ns}}}{method}", nsmap={"o": self._ns})
        for name in inputs:
            if name in values:
                v = values[name]
                _append_value(body, self._ns, name, np.asarray(v) if isinstance(v, (list, tuple)) else v,
                              self._res.tns)
        out = self._res._post(body, f"{self._ns}/{self._cls.__name__}PortType/{method}Request")
        results = []
        for child in out:
            if not isinstance(child.tag, str):
                continue
            name = child.tag.split("}")[-1]
            value = self._value(name, child)
            if not update_in_place(values.get(name), value):  # an inout array comes back into the caller's
                results.append(value)
        return None if not results else results[0] if len(results) == 1 else tuple(results)

    def _value(self, name: str, el: etree._Element) -> Any:
        if el.find(f"{{{self._res.tns}}}dtype") is not None:
            dtype, shape, order, data, href = ndarray_fields(el, self._res.tns)
            raw = decode_base64(name, data) if data is not None else \
                download(self._res._session, href or "", self._res.timeout)
            return array_from_parts(name, dtype, shape, order, raw)
        return _typed(el.text)

    def _property(self, name: str) -> Any:
        body = etree.Element(N.q(N.RP, "GetResourceProperty"), nsmap={"o": self._ns})
        body.text = f"o:{name}"
        out = self._res._post(body, N.action("GetResourceProperty"))
        found = [c for c in out if isinstance(c.tag, str)]
        return self._value(name, found[0]) if found else None

    def destroy(self) -> None:
        """Run the destructor on the server and forget the object."""
        self._res.destroy()

    def set_termination(self, seconds: float | None) -> None:
        """Destroy the object this many seconds from now (None: never)."""
        self._res.set_termination_time(seconds)

    def __enter__(self) -> RemoteObject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()
