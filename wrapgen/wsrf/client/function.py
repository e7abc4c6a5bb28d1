"""A kernel operation of a served library as a Python callable, with the same signature as the local module's
function; `create()` makes a WS-Resource for one computation instead."""

from __future__ import annotations

from typing import Any

import numpy as np
from lxml import etree

from ..errors import WSRFError
from .remote import _Remote
from .resource import Resource


def bind_args(name: str, names: list[str], args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Positional and keyword arguments of a remote call by name, refused as a Python call would refuse them."""
    if len(args) > len(names):
        raise TypeError(f"{name}() takes {len(names)} arguments ({', '.join(names)}), got {len(args)}")
    given = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names:
            raise TypeError(f"{name}() has no argument {k!r}; it takes {', '.join(names) or 'none'}")
        if k in given:
            raise TypeError(f"{name}() got {k!r} twice")
        given[k] = v
    return given


def update_in_place(original: Any, value: Any) -> bool:
    """Copy a returned array into the caller's array it came from (an inout argument); False if it is not one."""
    if isinstance(original, np.ndarray) and isinstance(value, np.ndarray) and original.flags.writeable:
        np.copyto(original, value)  # the same in-place contract as wrapgen.load
        return True
    return False


def endpoint(epr: Any, url: str) -> tuple[str, str]:
    """(address, resource key) of the wsa:EndpointReference a factory returned (zeep's object for it)."""
    address = epr.Address if not isinstance(epr.Address, dict) else epr.Address["_value_1"]
    rp = epr.ReferenceParameters
    key = next((e.text for e in (rp._value_1 if rp is not None else []) if etree.QName(e).localname ==
                "ResourceKey"), None)
    if not key:
        raise WSRFError(f"the EndpointReference from {url} carries no ResourceKey")
    return str(address), key


class RemoteFunction:
    """One kernel operation of a served library; .create() makes a WS-Resource for it."""

    def __init__(self, remote: _Remote, name: str, inputs: list[tuple[str, bool]], outputs: list[str]) -> None:
        self._r, self.__name__ = remote, name
        self.inputs, self.outputs = inputs, outputs
        self.__doc__ = f"{name}({', '.join(n if req else n + '=...' for n, req in inputs)}) on {remote.url}"

    def _bind_args(self, args: tuple, kwargs: dict) -> dict[str, Any]:
        return bind_args(self.__name__, [n for n, _ in self.inputs], args, kwargs)

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
            if not update_in_place(given.get(n), value):
                returned.append(value)
        return None if not returned else returned[0] if len(returned) == 1 else tuple(returned)

    def _response(self, given: dict[str, Any]) -> Any:
        missing = [n for n, req in self.inputs if req and n not in given]
        if missing:
            raise TypeError(f"{self.__name__}() missing argument(s): {', '.join(missing)}")
        return self._r.call(self._r.client.service, self.__name__, **{k: self._r.encode(v) for k, v in given.items()})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        given = self._bind_args(args, kwargs)
        return self.unpack(self._response(given), given)

    def outputs_by_name(self, **kwargs: Any) -> dict[str, Any]:
        """Call the operation; every output by name (inout arrays as new arrays, nothing changed in place)."""
        response = self._response(self._bind_args((), kwargs))
        return {n: self._r.decode(n, raw) for n, raw in zip(self.outputs, self.output_values(response))}

    def create(self, **params: Any) -> Resource:
        """A new WS-Resource for one computation (parameters may also be set later)."""
        given = self._bind_args((), params)
        epr = self._r.call(self._r.client.service, f"Create_{self.__name__}",
                           **{k: self._r.encode(v) for k, v in given.items()})
        address, key = endpoint(epr, self._r.url)
        return Resource(address, key, self._r.tns, self.__name__, self._r.timeout, fn=self, faults=self._r.faults,
                        session=self._r.client.transport.session)
