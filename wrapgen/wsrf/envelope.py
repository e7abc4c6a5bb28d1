"""SOAP 1.1 envelopes with WS-Addressing 1.0: safe parsing of requests, building of responses and faults."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree

from .errors import ClientFault, SoapFault
from .ns import BF, FAULT_ACTION, SOAP_ENV, WSA, WSA_ANONYMOUS, XSI, q

# No entity resolution, no network, no DTD loading. lxml's own guards (depth 256, text nodes of 10 MB)
# stay on; the huge-tree parser is used only when a text node is larger, and then every such node
# must be NDArray data (base64 arrays exceed 10 MB), under a request size the server already capped.
_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, remove_pis=True,
                collect_ids=False)
_PARSER = etree.XMLParser(**_OPTIONS)
_HUGE_PARSER = etree.XMLParser(huge_tree=True, **_OPTIONS)
MAX_DEPTH = 256
MAX_TEXT = 10_000_000


def _check_huge(root: etree._Element, what: str) -> None:
    depth = 0
    for event, e in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > MAX_DEPTH:
            raise ClientFault(f"the {what} is nested deeper than {MAX_DEPTH} elements")
        if event == "start" and e.text is not None and len(e.text) > MAX_TEXT and etree.QName(e).localname != "data":
            raise ClientFault(f"the {what} has a text node of {len(e.text)} characters in <{e.tag}>; only NDArray "
                              f"data may exceed {MAX_TEXT}")


def parse_xml(data: bytes, what: str = "request") -> etree._Element:
    """Parse untrusted XML: a DOCTYPE (and so any entity, external or recursive) is refused."""
    # Only a document longer than lxml's text-node limit can hold a longer text node: parse those with
    # the huge-tree parser at once (not twice) and check them.
    huge = len(data) > MAX_TEXT
    try:
        tree = etree.ElementTree(etree.fromstring(data, _HUGE_PARSER if huge else _PARSER))
    except etree.XMLSyntaxError as exc:
        raise ClientFault(f"the {what} is not well-formed XML: {exc}") from None
    if huge:
        _check_huge(tree.getroot(), what)
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise ClientFault(f"the {what} has a document type declaration; SOAP messages must not "
                          "(entities are never expanded here)")
    return tree.getroot()


@dataclass
class Request:
    """A parsed SOAP request: its body element and the WS-Addressing headers."""

    body: etree._Element
    headers: list[etree._Element] = field(default_factory=list)
    action: str | None = None
    message_id: str | None = None
    reply_to: str | None = None

    def header(self, qname: str) -> str | None:
        """Text of the first header block with this QName (a reference parameter, for example)."""
        for h in self.headers:
            if h.tag == qname:
                return (h.text or "").strip()
        return None


def parse_request(data: bytes) -> Request:
    """Check the envelope shape and pull out the body element and WSA headers."""
    root = parse_xml(data)
    if root.tag != q(SOAP_ENV, "Envelope"):
        raise ClientFault(f"expected a SOAP 1.1 Envelope ({SOAP_ENV}), got <{root.tag}>")
    header = root.find(q(SOAP_ENV, "Header"))
    body = root.find(q(SOAP_ENV, "Body"))
    if body is None:
        raise ClientFault("the SOAP Envelope has no Body")
    children = [c for c in body if isinstance(c.tag, str)]
    if len(children) != 1:
        raise ClientFault(f"the SOAP Body must hold exactly one element, it holds {len(children)}")
    headers = [h for h in header if isinstance(h.tag, str)] if header is not None else []
    req = Request(children[0], headers)
    req.action = req.header(q(WSA, "Action"))
    req.message_id = req.header(q(WSA, "MessageID"))
    for h in headers:
        if h.tag == q(WSA, "ReplyTo"):
            req.reply_to = (h.findtext(q(WSA, "Address")) or "").strip() or None
    return req


def new_message_id() -> str:
    """A fresh WS-Addressing MessageID."""
    return f"urn:uuid:{uuid.uuid4()}"


def envelope(body: etree._Element | None, action: str, relates_to: str | None = None,
             to: str | None = None, extra_headers: list[etree._Element] = ()) -> etree._Element:
    """A SOAP envelope with wsa:Action, MessageID and (for a reply) RelatesTo."""
    env = etree.Element(q(SOAP_ENV, "Envelope"), nsmap={"soap": SOAP_ENV, "wsa": WSA})
    hdr = etree.SubElement(env, q(SOAP_ENV, "Header"))
    etree.SubElement(hdr, q(WSA, "Action")).text = action
    etree.SubElement(hdr, q(WSA, "MessageID")).text = new_message_id()
    if relates_to:
        etree.SubElement(hdr, q(WSA, "RelatesTo")).text = relates_to
    if to:
        etree.SubElement(hdr, q(WSA, "To")).text = to
    for h in extra_headers:
        hdr.append(h)
    b = etree.SubElement(env, q(SOAP_ENV, "Body"))
    if body is not None:
        b.append(body)
    return env


def serialize(env: etree._Element) -> bytes:
    """UTF-8 bytes with an XML declaration."""
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def now_utc() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(timezone.utc)


def xs_datetime(t: datetime) -> str:
    """xs:dateTime in UTC with a Z."""
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fault_envelope(fault: SoapFault, relates_to: str | None = None, originator: etree._Element | None = None) \
        -> etree._Element:
    """A SOAP Fault whose detail holds a WS-BaseFault-typed element (the WS-RF fault action)."""
    f = etree.Element(q(SOAP_ENV, "Fault"))
    etree.SubElement(f, "faultcode").text = f"soap:{fault.faultcode}"
    etree.SubElement(f, "faultstring").text = fault.message
    detail = etree.SubElement(f, "detail")
    ns = fault.element[1:].split("}")[0]
    d = etree.SubElement(detail, fault.element, nsmap={"wsrf-bf": BF, "f": ns} if ns != BF else {"wsrf-bf": BF})
    etree.SubElement(d, q(BF, "Timestamp")).text = xs_datetime(now_utc())
    if originator is not None:
        o = etree.SubElement(d, q(BF, "Originator"))
        o.extend(list(originator))
    if fault.error_code is not None:
        ec = etree.SubElement(d, q(BF, "ErrorCode"), dialect="urn:wrapgen:status-code")
        ec.text = str(fault.error_code)
    etree.SubElement(d, q(BF, "Description")).text = fault.message
    if fault.exception:
        etree.SubElement(d, q(ns, "Exception")).text = fault.exception
    return envelope(f, FAULT_ACTION, relates_to)


def epr(address: str, key_qname: str | None = None, key: str | None = None,
        tag: str = q(WSA, "EndpointReference")) -> etree._Element:
    """A WS-Addressing 1.0 EndpointReference, with the resource key as a reference parameter."""
    e = etree.Element(tag, nsmap={"wsa": WSA})
    etree.SubElement(e, q(WSA, "Address")).text = address
    if key_qname and key:
        rp = etree.SubElement(e, q(WSA, "ReferenceParameters"))
        etree.SubElement(rp, key_qname).text = key
    return e


def parse_epr(e: etree._Element) -> tuple[str, dict[str, str]]:
    """(address, {reference parameter QName: text}) of an EPR element."""
    address = (e.findtext(q(WSA, "Address")) or "").strip()
    params: dict[str, str] = {}
    rp = e.find(q(WSA, "ReferenceParameters"))
    if rp is not None:
        for c in rp:
            if isinstance(c.tag, str):
                params[c.tag] = (c.text or "").strip()
    return address or WSA_ANONYMOUS, params


def reference_headers(params: dict[str, str]) -> list[etree._Element]:
    """SOAP header blocks for an EPR's reference parameters (WS-Addressing 1.0 section 3.3)."""
    out = []
    for qname, value in params.items():
        h = etree.Element(qname)
        h.text = value
        h.set(q(WSA, "IsReferenceParameter"), "true")
        out.append(h)
    return out


def time_element(parent: etree._Element, tag: str, when: float | None) -> etree._Element:
    """A child holding an xs:dateTime, or xsi:nil for 'never' (None)."""
    e = etree.SubElement(parent, tag)
    if when is None:
        e.set(q(XSI, "nil"), "true")
    else:
        e.text = xs_datetime(datetime.fromtimestamp(when, timezone.utc))
    return e
