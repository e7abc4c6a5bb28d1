"""The WSDL 1.1 document of a service, generated from the spec model: kernel operations, factories and the
WS-Resource port types (OASIS WS-ResourceProperties 1.2, WS-ResourceLifetime 1.2, WS-BaseFaults 1.2).

Everything is inline (the OASIS element declarations wrapgen uses are declared in wsdl:types), so a client
needs nothing but this document: no schema is fetched over the network.
"""

from __future__ import annotations

from lxml import etree

from . import ns as N
from .codec import DTYPES, XSD_TYPES
from .model import Operation, ServiceModel
from .status import Status

XS = N.XSD
RESOURCE_OPS = ("Start", "Cancel", "FetchResult")
WSRF_OPS = ("GetResourcePropertyDocument", "GetResourceProperty", "GetMultipleResourceProperties",
            "QueryResourceProperties", "SetResourceProperties", "Destroy", "SetTerminationTime", "Subscribe")
WSRF_FAULTS = {
    "GetResourcePropertyDocument": [(N.R, "ResourceUnknownFault"), (N.R, "ResourceUnavailableFault")],
    "GetResourceProperty": [(N.R, "ResourceUnknownFault"), (N.R, "ResourceUnavailableFault"),
                            (N.RP, "InvalidResourcePropertyQNameFault")],
    "GetMultipleResourceProperties": [(N.R, "ResourceUnknownFault"), (N.R, "ResourceUnavailableFault"),
                                      (N.RP, "InvalidResourcePropertyQNameFault")],
    "QueryResourceProperties": [(N.R, "ResourceUnknownFault"), (N.R, "ResourceUnavailableFault"),
                                (N.RP, "UnknownQueryExpressionDialectFault"), (N.RP, "InvalidQueryExpressionFault"),
                                (N.RP, "QueryEvaluationErrorFault")],
    "SetResourceProperties": [(N.R, "ResourceUnknownFault"), (N.R, "ResourceUnavailableFault"),
                              (N.RP, "InvalidModificationFault"), (N.RP, "UnableToModifyResourcePropertyFault"),
                              (N.RP, "InvalidResourcePropertyQNameFault"),
                              (N.RP, "SetResourcePropertyRequestFailedFault")],
    "Destroy": [(N.R, "ResourceUnknownFault"), (N.R, "ResourceUnavailableFault"), (N.RL, "ResourceNotDestroyedFault")],
    "SetTerminationTime": [(N.R, "ResourceUnknownFault"), (N.R, "ResourceUnavailableFault"),
                           (N.RL, "UnableToSetTerminationTimeFault"), (N.RL, "TerminationTimeChangeRejectedFault")],
    "Subscribe": [(N.R, "ResourceUnknownFault"), (N.WSNT, "SubscribeCreationFailedFault"),
                  (N.WSNT, "TopicExpressionDialectUnknownFault"), (N.WSNT, "InvalidTopicExpressionFault"),
                  (N.WSNT, "TopicNotSupportedFault"), (N.WSNT, "InvalidFilterFault"),
                  (N.WSNT, "UnacceptableInitialTerminationTimeFault")],
    "Renew": [(N.R, "ResourceUnknownFault"), (N.WSNT, "UnacceptableTerminationTimeFault")],
    "Unsubscribe": [(N.R, "ResourceUnknownFault"), (N.WSNT, "UnableToDestroySubscriptionFault")],
    "CreatePullPoint": [(N.WSNT, "UnableToCreatePullPointFault")],
    "GetMessages": [(N.R, "ResourceUnknownFault"), (N.WSNT, "UnableToGetMessagesFault")],
    "DestroyPullPoint": [(N.R, "ResourceUnknownFault"), (N.WSNT, "UnableToDestroyPullPointFault")],
}
# The extra WSDL documents of a library: /<library>/subscriptions and /<library>/pullpoints.
MANAGER_PORTS = {"subscriptions": ("SubscriptionManager", ("Renew", "Unsubscribe")),
                 "pullpoints": ("PullPoint", ("GetMessages", "DestroyPullPoint"))}
OASIS_FAULTS = sorted({f for fs in WSRF_FAULTS.values() for f in fs})


def kernel_action(model: ServiceModel, op: str, response: bool = False) -> str:
    """Action URI of a kernel or factory operation on the library port type."""
    return f"{model.tns}/{model.name}PortType/{op}{'Response' if response else 'Request'}"


def resource_action(op: Operation, name: str, response: bool = False) -> str:
    """Action URI of a Start/Cancel/FetchResult operation on a function's resource port type."""
    return f"{op.namespace}/{op.name}ResourcePortType/{name}{'Response' if response else 'Request'}"


class _B:
    """Tiny element builder: E(parent, 'xs:element', name=...)."""

    def __init__(self, nsmap: dict[str, str]) -> None:
        self.nsmap = nsmap

    def __call__(self, parent: etree._Element | None, tag: str, **attrs: str) -> etree._Element:
        prefix, local = tag.split(":")
        qn = f"{{{self.nsmap[prefix]}}}{local}"
        attrs = {k.rstrip("_").replace("__", ":"): v for k, v in attrs.items()}
        resolved = {}
        for k, v in attrs.items():
            if ":" in k:
                p, loc = k.split(":")
                resolved[f"{{{self.nsmap[p]}}}{loc}"] = v
            else:
                resolved[k] = v
        if parent is None:
            return etree.Element(qn, resolved, nsmap=self.nsmap)
        return etree.SubElement(parent, qn, resolved)


def _schema(E: _B, types: etree._Element, tns: str, imports: list[str] = ()) -> etree._Element:
    s = E(types, "xs:schema", targetNamespace=tns, elementFormDefault="qualified")
    for ns in imports:
        E(s, "xs:import", namespace=ns)
    return s


def _seq(E: _B, parent: etree._Element, **attrs: str) -> etree._Element:
    return E(E(parent, "xs:complexType", **attrs), "xs:sequence")


def _any(E: _B, seq: etree._Element, min_occurs: str = "0", process: str = "lax") -> None:
    E(seq, "xs:any", namespace="##any", processContents=process, minOccurs=min_occurs, maxOccurs="unbounded")


def _oasis_schemas(E: _B, types: etree._Element, prefix: dict[str, str]) -> None:
    # WS-Addressing 1.0 (the parts an EPR needs).
    s = _schema(E, types, N.WSA)
    E(s, "xs:element", name="EndpointReference", type="wsa:EndpointReferenceType")
    seq = E(E(s, "xs:complexType", name="EndpointReferenceType"), "xs:sequence")
    E(seq, "xs:element", name="Address", type="xs:anyURI")
    E(seq, "xs:element", name="ReferenceParameters", type="wsa:ReferenceParametersType", minOccurs="0")
    E(seq, "xs:element", name="Metadata", type="wsa:MetadataType", minOccurs="0")
    _any(E, seq)
    for t in ("ReferenceParametersType", "MetadataType"):
        _any(E, E(E(s, "xs:complexType", name=t), "xs:sequence"))
    # WS-BaseFaults 1.2.
    s = _schema(E, types, N.BF, [N.WSA])
    ct = E(s, "xs:complexType", name="BaseFaultType")
    seq = E(ct, "xs:sequence")
    E(seq, "xs:element", name="Timestamp", type="xs:dateTime")
    E(seq, "xs:element", name="Originator", type="wsa:EndpointReferenceType", minOccurs="0")
    ec = E(E(E(seq, "xs:element", name="ErrorCode", minOccurs="0"), "xs:complexType", mixed="true"), "xs:sequence")
    _any(E, ec)
    ec.getparent().append(E(None, "xs:attribute", name="dialect", type="xs:anyURI", use="required"))
    E(seq, "xs:element", name="Description", type="xs:string", minOccurs="0", maxOccurs="unbounded")
    fc = E(E(E(seq, "xs:element", name="FaultCause", minOccurs="0"), "xs:complexType"), "xs:sequence")
    E(fc, "xs:any", namespace="##other", processContents="lax")
    E(seq, "xs:any", namespace="##other", processContents="lax", minOccurs="0", maxOccurs="unbounded")
    E(s, "xs:element", name="BaseFault", type="wsrf-bf:BaseFaultType")
    by_ns: dict[str, list[str]] = {}
    for fns, fname in OASIS_FAULTS:
        by_ns.setdefault(fns, []).append(fname)
    schemas: dict[str, etree._Element] = {}
    for fns in (N.R, N.RP, N.RL, N.WSNT):
        schemas[fns] = _schema(E, types, fns, [N.BF] + ([N.WSA] if fns in (N.RL, N.WSNT) else []))
        for fname in by_ns.get(fns, []):
            ct = E(schemas[fns], "xs:complexType", name=f"{fname}Type")
            E(E(ct, "xs:complexContent"), "xs:extension", base="wsrf-bf:BaseFaultType")
            E(schemas[fns], "xs:element", name=fname, type=f"{prefix[fns]}:{fname}Type")
    # WS-ResourceProperties 1.2.
    s = schemas[N.RP]
    E(s, "xs:element", name="QueryExpressionDialect", type="xs:anyURI")
    E(s, "xs:complexType", name="Empty")
    E(s, "xs:element", name="GetResourcePropertyDocument", type="wsrf-rp:Empty")
    _any(E, _seq(E, E(s, "xs:element", name="GetResourcePropertyDocumentResponse")), "1")
    E(s, "xs:element", name="GetResourceProperty", type="xs:QName")
    _any(E, _seq(E, E(s, "xs:element", name="GetResourcePropertyResponse")))
    E(_seq(E, E(s, "xs:element", name="GetMultipleResourceProperties")), "xs:element", name="ResourceProperty",
      type="xs:QName", maxOccurs="unbounded")
    _any(E, _seq(E, E(s, "xs:element", name="GetMultipleResourcePropertiesResponse")))
    qe = E(s, "xs:complexType", name="QueryExpressionType", mixed="true")
    E(E(qe, "xs:sequence"), "xs:any", minOccurs="0", maxOccurs="1", processContents="lax")
    E(qe, "xs:attribute", name="Dialect", type="xs:anyURI")
    E(s, "xs:element", name="QueryExpression", type="wsrf-rp:QueryExpressionType")
    E(_seq(E, E(s, "xs:element", name="QueryResourceProperties")), "xs:element", ref="wsrf-rp:QueryExpression")
    qr = E(E(s, "xs:element", name="QueryResourcePropertiesResponse"), "xs:complexType", mixed="true")
    _any(E, E(qr, "xs:sequence"))
    for kind in ("Insert", "Update"):
        _any(E, _seq(E, E(s, "xs:element", name=kind)), "1")
    d = E(E(s, "xs:element", name="Delete"), "xs:complexType")
    E(d, "xs:attribute", name="ResourceProperty", type="xs:QName", use="required")
    ch = E(E(E(s, "xs:element", name="SetResourceProperties"), "xs:complexType"), "xs:choice",
           maxOccurs="unbounded")
    for kind in ("Insert", "Update", "Delete"):
        E(ch, "xs:element", ref=f"wsrf-rp:{kind}")
    E(s, "xs:element", name="SetResourcePropertiesResponse", type="wsrf-rp:Empty")
    # WS-ResourceLifetime 1.2.
    s = schemas[N.RL]
    E(s, "xs:complexType", name="Empty")
    E(s, "xs:element", name="Destroy", type="wsrf-rl:Empty")
    E(s, "xs:element", name="DestroyResponse", type="wsrf-rl:Empty")
    E(s, "xs:element", name="CurrentTime", type="xs:dateTime")
    E(s, "xs:element", name="TerminationTime", type="xs:dateTime", nillable="true")
    ch = E(E(E(s, "xs:element", name="SetTerminationTime"), "xs:complexType"), "xs:choice")
    E(ch, "xs:element", name="RequestedTerminationTime", type="xs:dateTime", nillable="true")
    E(ch, "xs:element", name="RequestedLifetimeDuration", type="xs:duration")
    seq = _seq(E, E(s, "xs:element", name="SetTerminationTimeResponse"))
    E(seq, "xs:element", name="NewTerminationTime", type="xs:dateTime", nillable="true")
    E(seq, "xs:element", name="CurrentTime", type="xs:dateTime")
    seq = _seq(E, E(s, "xs:element", name="TerminationNotification"))
    E(seq, "xs:element", name="TerminationTime", type="xs:dateTime", nillable="true")
    E(seq, "xs:element", name="TerminationReason", type="xs:anyType", minOccurs="0")
    # WS-BaseNotification 1.3 (Subscribe on the resource; the rest lives on the subscription manager).
    s = schemas[N.WSNT]
    te = E(s, "xs:complexType", name="TopicExpressionType", mixed="true")
    E(E(te, "xs:sequence"), "xs:any", minOccurs="0", maxOccurs="1", processContents="lax")
    E(te, "xs:attribute", name="Dialect", type="xs:anyURI", use="required")
    E(s, "xs:element", name="TopicExpression", type="wsnt:TopicExpressionType")
    flt = E(E(s, "xs:complexType", name="FilterType"), "xs:sequence")
    E(flt, "xs:element", ref="wsnt:TopicExpression", minOccurs="0")
    seq = _seq(E, E(s, "xs:element", name="Subscribe"))
    E(seq, "xs:element", name="ConsumerReference", type="wsa:EndpointReferenceType")
    E(seq, "xs:element", name="Filter", type="wsnt:FilterType", minOccurs="0")
    E(seq, "xs:element", name="InitialTerminationTime", type="xs:string", minOccurs="0", nillable="true")
    seq = _seq(E, E(s, "xs:element", name="SubscribeResponse"))
    E(seq, "xs:element", name="SubscriptionReference", type="wsa:EndpointReferenceType")
    E(seq, "xs:element", name="CurrentTime", type="xs:dateTime", minOccurs="0")
    E(seq, "xs:element", name="TerminationTime", type="xs:dateTime", minOccurs="0", nillable="true")
    seq = _seq(E, E(s, "xs:element", name="Renew"))
    E(seq, "xs:element", name="TerminationTime", type="xs:string", nillable="true")
    seq = _seq(E, E(s, "xs:element", name="RenewResponse"))
    E(seq, "xs:element", name="TerminationTime", type="xs:dateTime", nillable="true")
    E(seq, "xs:element", name="CurrentTime", type="xs:dateTime", minOccurs="0")
    E(s, "xs:complexType", name="Empty")
    for name in ("Unsubscribe", "UnsubscribeResponse", "CreatePullPoint", "DestroyPullPoint",
                 "DestroyPullPointResponse"):
        E(s, "xs:element", name=name, type="wsnt:Empty")
    E(_seq(E, E(s, "xs:element", name="CreatePullPointResponse")), "xs:element", name="PullPoint",
      type="wsa:EndpointReferenceType")
    E(_seq(E, E(s, "xs:element", name="GetMessages")), "xs:element", name="MaximumNumber",
      type="xs:nonNegativeInteger", minOccurs="0")
    seq = _seq(E, E(s, "xs:element", name="NotificationMessage"))
    E(seq, "xs:element", name="SubscriptionReference", type="wsa:EndpointReferenceType", minOccurs="0")
    E(seq, "xs:element", name="Topic", type="wsnt:TopicExpressionType", minOccurs="0")
    E(seq, "xs:element", name="ProducerReference", type="wsa:EndpointReferenceType", minOccurs="0")
    E(E(E(E(seq, "xs:element", name="Message"), "xs:complexType"), "xs:sequence"), "xs:any",
      namespace="##any", processContents="lax")
    E(_seq(E, E(s, "xs:element", name="GetMessagesResponse")), "xs:element", ref="wsnt:NotificationMessage",
      minOccurs="0", maxOccurs="unbounded")
    E(_seq(E, E(s, "xs:element", name="Notify")), "xs:element", ref="wsnt:NotificationMessage",
      maxOccurs="unbounded")


def _value_type(E: _B, el: etree._Element, arg, required: bool) -> None:
    if arg.is_array:
        el.set("type", "tns:NDArray")
    elif arg.dtype in ("complex64", "complex128"):
        el.set("type", "tns:Complex")
    elif arg.range is not None:
        r = E(E(el, "xs:simpleType"), "xs:restriction", base=XSD_TYPES[arg.dtype])
        if arg.range.min is not None:
            E(r, "xs:minInclusive", value=repr(arg.range.min) if isinstance(arg.range.min, float) else str(arg.range.min))
        if arg.range.max is not None:
            E(r, "xs:maxInclusive", value=repr(arg.range.max) if isinstance(arg.range.max, float) else str(arg.range.max))
    else:
        el.set("type", XSD_TYPES[arg.dtype])
    el.set("minOccurs", "1" if required else "0")
    if arg.doc or arg.units:
        doc = E(E(el, "xs:annotation"), "xs:documentation")
        doc.text = " ".join(x for x in (arg.doc, f"[{arg.units}]" if arg.units else "") if x)
        el.insert(0, doc.getparent())


def _kernel_schema(E: _B, types: etree._Element, model: ServiceModel) -> None:
    s = _schema(E, types, model.tns, [N.WSA, N.BF])
    nd = E(E(s, "xs:complexType", name="NDArray"), "xs:sequence")
    dt = E(E(E(nd, "xs:element", name="dtype"), "xs:simpleType"), "xs:restriction", base="xs:string")
    for d in DTYPES:
        E(dt, "xs:enumeration", value=d)
    E(nd, "xs:element", name="shape", type="xs:long", minOccurs="0", maxOccurs="unbounded")
    o = E(E(E(nd, "xs:element", name="order", minOccurs="0"), "xs:simpleType"), "xs:restriction", base="xs:string")
    E(o, "xs:enumeration", value="C")
    E(o, "xs:enumeration", value="F")
    ch = E(nd, "xs:choice")
    E(ch, "xs:element", name="data", type="xs:base64Binary")
    E(ch, "xs:element", name="href", type="xs:anyURI")
    cx = E(E(s, "xs:complexType", name="Complex"), "xs:sequence")
    E(cx, "xs:element", name="re", type="xs:double")
    E(cx, "xs:element", name="im", type="xs:double")
    kf = E(E(E(s, "xs:complexType", name="KernelFaultType"), "xs:complexContent"), "xs:extension",
           base="wsrf-bf:BaseFaultType")
    E(E(kf, "xs:sequence"), "xs:element", name="Exception", type="xs:string", minOccurs="0")
    E(s, "xs:element", name="KernelFault", type="tns:KernelFaultType")
    for op in model.operations.values():
        for suffix, required in (("", True), ("Parameters", False)):
            seq = E(E(s, "xs:complexType", name=f"{op.name}{suffix}Type"), "xs:sequence")
            for n, arg, req in op.inputs:
                _value_type(E, E(seq, "xs:element", name=n), arg, req and required)
        seq = E(E(s, "xs:complexType", name=f"{op.name}ResponseType"), "xs:sequence")
        for n, arg in op.outputs:
            _value_type(E, E(seq, "xs:element", name=n), arg, True)
        E(s, "xs:element", name=op.name, type=f"tns:{op.name}Type")
        E(s, "xs:element", name=f"{op.name}Response", type=f"tns:{op.name}ResponseType")
        E(s, "xs:element", name=f"Create_{op.name}", type=f"tns:{op.name}ParametersType")
        E(_seq(E, E(s, "xs:element", name=f"Create_{op.name}Response")), "xs:element", ref="wsa:EndpointReference")
    for cm in model.classes.values():  # factories of served C++ classes: the constructor's arguments
        seq = _seq(E, E(s, "xs:element", name=f"Create_{cm.name}"))
        for n, arg, req in cm.constructor.inputs:
            _value_type(E, E(seq, "xs:element", name=n), arg, req)
        E(_seq(E, E(s, "xs:element", name=f"Create_{cm.name}Response")), "xs:element", ref="wsa:EndpointReference")


def _resource_schema(E: _B, types: etree._Element, op: Operation, p: str) -> None:
    s = _schema(E, types, op.namespace, [model_ns for model_ns in (E.nsmap["tns"], N.RL, N.RP)])
    st = E(E(s, "xs:simpleType", name="StatusType"), "xs:restriction", base="xs:string")
    for v in Status:
        E(st, "xs:enumeration", value=str(v))
    E(s, "xs:element", name="Status", type=f"{p}:StatusType")
    E(s, "xs:element", name="Progress", type="xs:double")
    E(s, "xs:element", name="Parameters", type=f"tns:{op.name}ParametersType")
    E(s, "xs:element", name="Result", type=f"tns:{op.name}ResponseType")
    E(s, "xs:element", name="Error", type="xs:string")
    seq = _seq(E, E(s, "xs:element", name="ResourceProperties"))
    for name, extra in (("Status", {}), ("Progress", {}), ("Parameters", {}), ("Result", {"minOccurs": "0"}),
                        ("Error", {"minOccurs": "0"})):
        E(seq, "xs:element", ref=f"{p}:{name}", **extra)
    E(seq, "xs:element", ref="wsrf-rl:CurrentTime")
    E(seq, "xs:element", ref="wsrf-rl:TerminationTime")
    E(seq, "xs:element", ref="wsrf-rp:QueryExpressionDialect", minOccurs="0", maxOccurs="unbounded")
    E(s, "xs:complexType", name="Empty")
    for name in ("Start", "StartResponse", "Cancel", "CancelResponse", "FetchResult"):
        E(s, "xs:element", name=name, type=f"{p}:Empty")
    E(s, "xs:element", name="FetchResultResponse", type=f"tns:{op.name}ResponseType")


class Ports:
    """The wsdl:message and wsdl:operation writers of one document: each operation goes to a port type and its
    document/literal SOAP binding at once, its messages made on first use."""

    def __init__(self, E: _B, defs: etree._Element) -> None:
        self.E, self.defs, self.messages = E, defs, set()

    def message(self, element: str) -> str:
        """The message for a body element (made once), as a QName."""
        pfx, local = element.split(":")
        name = f"{pfx.replace('-', '_')}_{local}" if pfx != "tns" else local
        if name not in self.messages:
            self.messages.add(name)
            self.E(self.E(self.defs, "wsdl:message", name=name), "wsdl:part", name="body", element=element)
        return f"tns:{name}"

    def operation(self, pt: etree._Element, bd: etree._Element, name: str, req: str, resp: str, act_in: str,
                  act_out: str, faults: list[str], doc: str = "") -> None:
        """One operation on the port type pt and the binding bd."""
        E, message = self.E, self.message
        o = E(pt, "wsdl:operation", name=name)
        if doc:
            E(o, "wsdl:documentation").text = doc
        E(o, "wsdl:input", message=message(req), wsaw__Action=act_in, wsam__Action=act_in)
        E(o, "wsdl:output", message=message(resp), wsaw__Action=act_out, wsam__Action=act_out)
        b = E(bd, "wsdl:operation", name=name)
        E(b, "soap:operation", soapAction=act_in, style="document")
        E(E(b, "wsdl:input"), "soap:body", use="literal")
        E(E(b, "wsdl:output"), "soap:body", use="literal")
        for f in faults:
            fname = f.split(":")[1]
            E(o, "wsdl:fault", name=fname, message=message(f), wsaw__Action=N.FAULT_ACTION, wsam__Action=N.FAULT_ACTION)
            E(E(b, "wsdl:fault", name=fname), "soap:fault", name=fname, use="literal")


def build_wsdl(model: ServiceModel, base_url: str, resource: str | None = None) -> bytes:
    """The WSDL of the library port (kernel operations and factories) or, given a function name, of that
    function's WS-Resource port; soap:address locations are under base_url (http://host:port).

    One binding per document, as GT4 did for factory and instance services: WSDL tools then make one
    proxy per document (gSOAP's wsdl2h warns when it has to merge bindings).
    """
    prefix = {N.WSA: "wsa", N.BF: "wsrf-bf", N.R: "wsrf-r", N.RP: "wsrf-rp", N.RL: "wsrf-rl", N.WSNT: "wsnt"}
    nsmap = {"wsdl": N.WSDL, "soap": N.WSDL_SOAP, "xs": XS, "wsaw": N.WSAW, "wsam": N.WSAM, "tns": model.tns,
             "wsa": N.WSA, "wsrf-bf": N.BF, "wsrf-r": N.R, "wsrf-rp": N.RP, "wsrf-rl": N.RL, "wsnt": N.WSNT}
    res_prefix = {}
    for i, op in enumerate(model.operations.values()):
        res_prefix[op.name] = f"r{i}"
        nsmap[f"r{i}"] = op.namespace
    E = _B(nsmap)
    defs = E(None, "wsdl:definitions", name=model.name, targetNamespace=model.tns)
    if model.lib.doc:
        E(defs, "wsdl:documentation").text = model.lib.doc
    types = E(defs, "wsdl:types")
    _oasis_schemas(E, types, prefix)
    _kernel_schema(E, types, model)
    shown = [model.operations[resource]] if resource in model.operations else []
    for op in shown:
        _resource_schema(E, types, op, res_prefix[op.name])

    ports = Ports(E, defs)
    operation = ports.operation

    if resource in MANAGER_PORTS:
        port_type, ops = MANAGER_PORTS[resource]
        pt = E(defs, "wsdl:portType", name=f"{model.name}{port_type}PortType")
        bd = E(None, "wsdl:binding", name=f"{model.name}{port_type}Binding", type=f"tns:{model.name}{port_type}PortType")
        E(bd, "soap:binding", style="document", transport="http://schemas.xmlsoap.org/soap/http")
        for name in ops:
            operation(pt, bd, name, f"wsnt:{name}", f"wsnt:{name}Response", N.action(name), N.action(name, True),
                      [f"{prefix[fns]}:{fname}" for fns, fname in WSRF_FAULTS[name]])
        defs.append(bd)
        svc = E(defs, "wsdl:service", name=f"{model.name}{port_type}Service")
        E(E(svc, "wsdl:port", name=f"{model.name}{port_type}Port", binding=f"tns:{model.name}{port_type}Binding"),
          "soap:address", location=f"{base_url}/{model.name}/{resource}")
        return etree.tostring(defs, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    lib_pt = E(defs if not resource else None, "wsdl:portType", name=f"{model.name}PortType")
    lib_bd = E(None, "wsdl:binding", name=f"{model.name}Binding", type=f"tns:{model.name}PortType")
    E(lib_bd, "soap:binding", style="document", transport="http://schemas.xmlsoap.org/soap/http")
    for op in model.operations.values() if not resource else []:
        operation(lib_pt, lib_bd, op.name, f"tns:{op.name}", f"tns:{op.name}Response", kernel_action(model, op.name),
                  kernel_action(model, op.name, True), ["tns:KernelFault"], op.fn.doc)
        create = f"Create_{op.name}"
        operation(lib_pt, lib_bd, create, f"tns:{create}", f"tns:{create}Response", kernel_action(model, create),
                  kernel_action(model, create, True), [],
                  f"Create a WS-Resource for one {op.name} computation; returns its EndpointReference.")
    for cm in model.classes.values() if not resource else []:
        create = f"Create_{cm.name}"
        operation(lib_pt, lib_bd, create, f"tns:{create}", f"tns:{create}Response", kernel_action(model, create),
                  kernel_action(model, create, True), ["tns:KernelFault"],
                  f"Construct a {cm.name} on the server (its constructor); returns the object's EndpointReference "
                  f"(its port: {cm.name}?wsdl).")
    if not resource:
        operation(lib_pt, lib_bd, "CreatePullPoint", "wsnt:CreatePullPoint", "wsnt:CreatePullPointResponse",
                  N.action("CreatePullPoint"), N.action("CreatePullPoint", True),
                  ["wsnt:UnableToCreatePullPointFault"],
                  "A pull point: notifications collected for clients that cannot accept connections.")
    res_bindings = []
    for op in shown:
        p = res_prefix[op.name]
        pt = E(defs, "wsdl:portType", name=f"{op.name}ResourcePortType")
        pt.set(f"{{{N.RP}}}ResourceProperties", f"{p}:ResourceProperties")
        bd = E(None, "wsdl:binding", name=f"{op.name}ResourceBinding", type=f"tns:{op.name}ResourcePortType")
        E(bd, "soap:binding", style="document", transport="http://schemas.xmlsoap.org/soap/http")
        for name in RESOURCE_OPS:
            operation(pt, bd, name, f"{p}:{name}", f"{p}:{name}Response", resource_action(op, name),
                      resource_action(op, name, True), ["wsrf-r:ResourceUnknownFault"] +
                      (["tns:KernelFault"] if name == "FetchResult" else []))
        for name in WSRF_OPS:
            pfx = prefix[N.BODY_NS[name]]
            operation(pt, bd, name, f"{pfx}:{name}", f"{pfx}:{name}Response", N.action(name), N.action(name, True),
                      [f"{prefix[fns]}:{fname}" for fns, fname in WSRF_FAULTS[name]])
        res_bindings.append((op, bd))
    if not resource:
        defs.append(lib_bd)
        svc = E(defs, "wsdl:service", name=f"{model.name}Service")
        E(E(svc, "wsdl:port", name=f"{model.name}Port", binding=f"tns:{model.name}Binding"), "soap:address",
          location=f"{base_url}/{model.name}")
    for _, bd in res_bindings:
        defs.append(bd)
    for op, _ in res_bindings:
        svc = E(defs, "wsdl:service", name=f"{op.name}ResourceService")
        E(E(svc, "wsdl:port", name=f"{op.name}ResourcePort", binding=f"tns:{op.name}ResourceBinding"),
          "soap:address", location=f"{base_url}/{model.name}/{op.name}")
    return etree.tostring(defs, xml_declaration=True, encoding="UTF-8", pretty_print=True)
