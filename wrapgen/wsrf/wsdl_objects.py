"""The WSDL 1.1 document of a served C++ class's WS-Resource port: its methods as operations on the resource,
its readable properties as resource properties, WS-ResourceProperties 1.2 reads and WS-ResourceLifetime 1.2
(Destroy runs the destructor). The factory, Create_<Class>, is on the library port (wsdl.build_wsdl)."""

from __future__ import annotations

from lxml import etree

from . import ns as N
from .model import ClassModel, ServiceModel
from .wsdl import WSRF_FAULTS, XS, Ports, _B, _kernel_schema, _oasis_schemas, _schema, _seq, _value_type

#: the WS-RF operations an object resource answers (its properties are the object's: nothing to set or query)
OBJECT_WSRF_OPS = ("GetResourcePropertyDocument", "GetResourceProperty", "GetMultipleResourceProperties", "Destroy",
                   "SetTerminationTime")


def object_action(cm: ClassModel, name: str, response: bool = False) -> str:
    """Action URI of a method on a class's resource port type."""
    return f"{cm.namespace}/{cm.name}PortType/{name}{'Response' if response else 'Request'}"


def build_object_wsdl(model: ServiceModel, cm: ClassModel, base_url: str) -> bytes:
    """The WSDL of one class's resource port (soap:address under base_url)."""
    prefix = {N.WSA: "wsa", N.BF: "wsrf-bf", N.R: "wsrf-r", N.RP: "wsrf-rp", N.RL: "wsrf-rl", N.WSNT: "wsnt"}
    nsmap = {"wsdl": N.WSDL, "soap": N.WSDL_SOAP, "xs": XS, "wsaw": N.WSAW, "wsam": N.WSAM, "tns": model.tns,
             "wsa": N.WSA, "wsrf-bf": N.BF, "wsrf-r": N.R, "wsrf-rp": N.RP, "wsrf-rl": N.RL, "wsnt": N.WSNT,
             "o": cm.namespace}
    E = _B(nsmap)
    defs = E(None, "wsdl:definitions", name=f"{model.name}_{cm.name}", targetNamespace=model.tns)
    if cm.cls.doc:
        E(defs, "wsdl:documentation").text = cm.cls.doc
    types = E(defs, "wsdl:types")
    _oasis_schemas(E, types, prefix)
    _kernel_schema(E, types, model)  # NDArray, Complex and KernelFault live in the library's namespace
    s = _schema(E, types, cm.namespace, [model.tns, N.RL, N.RP])
    for op in cm.methods.values():
        seq = _seq(E, E(s, "xs:element", name=op.name))
        for n, arg, req in op.inputs:
            _value_type(E, E(seq, "xs:element", name=n), arg, req)
        seq = _seq(E, E(s, "xs:element", name=f"{op.name}Response"))
        for n, arg in op.outputs:
            _value_type(E, E(seq, "xs:element", name=n), arg, True)
    for name, arg in cm.property_args.items():
        _value_type(E, E(s, "xs:element", name=name), arg, True)
    seq = _seq(E, E(s, "xs:element", name="ResourceProperties"))
    for name in cm.property_args:
        E(seq, "xs:element", ref=f"o:{name}")
    E(seq, "xs:element", ref="wsrf-rl:CurrentTime")
    E(seq, "xs:element", ref="wsrf-rl:TerminationTime")

    pt = E(defs, "wsdl:portType", name=f"{cm.name}PortType")
    pt.set(f"{{{N.RP}}}ResourceProperties", "o:ResourceProperties")
    bd = E(None, "wsdl:binding", name=f"{cm.name}Binding", type=f"tns:{cm.name}PortType")
    E(bd, "soap:binding", style="document", transport="http://schemas.xmlsoap.org/soap/http")

    ports = Ports(E, defs)

    def operation(name: str, req: str, resp: str, act_in: str, act_out: str, faults: list[str], doc: str) -> None:
        ports.operation(pt, bd, name, req, resp, act_in, act_out, faults, doc)

    for op in cm.methods.values():
        operation(op.name, f"o:{op.name}", f"o:{op.name}Response", object_action(cm, op.name),
                  object_action(cm, op.name, True), ["wsrf-r:ResourceUnknownFault", "tns:KernelFault"], op.fn.doc)
    for name in OBJECT_WSRF_OPS:
        pfx = prefix[N.BODY_NS[name]]
        operation(name, f"{pfx}:{name}", f"{pfx}:{name}Response", N.action(name), N.action(name, True),
                  [f"{prefix[fns]}:{fname}" for fns, fname in WSRF_FAULTS[name]],
                  "Run the destructor and forget the object." if name == "Destroy" else "")
    defs.append(bd)
    svc = E(defs, "wsdl:service", name=f"{cm.name}Service")
    E(E(svc, "wsdl:port", name=f"{cm.name}Port", binding=f"tns:{cm.name}Binding"), "soap:address",
      location=f"{base_url}/{model.name}/{cm.name}")
    return etree.tostring(defs, xml_declaration=True, encoding="UTF-8", pretty_print=True)
