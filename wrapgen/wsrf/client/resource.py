"""A WS-Resource seen from the client: properties, Start, wait, result, Cancel, Destroy, termination time and
subscriptions, sent as plain XML (resource properties are open content a typed client would reshape)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lxml import etree

from .. import ns as N
from ..codec import array_from_parts, decode_base64, ndarray_fields
from ..errors import WSRFError
from .notify import Notification, NotificationConsumer, Subscription
from .remote import (
    _STATUS_DONE,
    FaultTranslator,
    _append_value,
    _FaultView,
    _typed,
    download,
    make_session,
)

if TYPE_CHECKING:
    from .function import RemoteFunction


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
        from ..envelope import parse_epr, parse_xml

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
        from ..envelope import epr

        return epr(self.address, f"{{{self.tns}}}ResourceKey", self.key)

    def _post(self, body: etree._Element, action: str) -> etree._Element:
        from ..envelope import reference_headers

        return self._post_to(self.address, body, action, reference_headers({f"{{{self.tns}}}ResourceKey": self.key}))

    def _post_to(self, address: str, body: etree._Element, action: str, headers: list[etree._Element]) \
            -> etree._Element:
        from ..envelope import envelope, parse_xml, serialize

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
        from ..envelope import parse_epr

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
