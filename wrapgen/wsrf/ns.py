"""Namespaces and Action URIs of SOAP 1.1, WS-Addressing 1.0 and the OASIS WS-RF 1.2 / WSN 1.3 family."""

from __future__ import annotations

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"

WSA = "http://www.w3.org/2005/08/addressing"
WSAW = "http://www.w3.org/2006/05/addressing/wsdl"
WSAM = "http://www.w3.org/2007/05/addressing/metadata"
WSA_ANONYMOUS = WSA + "/anonymous"

RP = "http://docs.oasis-open.org/wsrf/rp-2"
RPW = "http://docs.oasis-open.org/wsrf/rpw-2"
RL = "http://docs.oasis-open.org/wsrf/rl-2"
RLW = "http://docs.oasis-open.org/wsrf/rlw-2"
R = "http://docs.oasis-open.org/wsrf/r-2"
RW = "http://docs.oasis-open.org/wsrf/rw-2"
BF = "http://docs.oasis-open.org/wsrf/bf-2"
WSNT = "http://docs.oasis-open.org/wsn/b-2"
WSNTW = "http://docs.oasis-open.org/wsn/bw-2"
WSTOP = "http://docs.oasis-open.org/wsn/t-1"

FAULT_ACTION = "http://docs.oasis-open.org/wsrf/fault"
WSA_FAULT_ACTION = WSA + "/soap/fault"
XPATH_DIALECT = "http://www.w3.org/TR/1999/REC-xpath-19991116"
SIMPLE_TOPIC_DIALECT = "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Simple"

# Prefixes used in everything wrapgen writes (readers must not depend on them).
PREFIXES = {"soap": SOAP_ENV, "xs": XSD, "xsi": XSI, "wsdl": WSDL, "soapbind": WSDL_SOAP, "wsa": WSA,
            "wsaw": WSAW, "wsam": WSAM, "wsrf-rp": RP, "wsrf-rpw": RPW, "wsrf-rl": RL, "wsrf-rlw": RLW,
            "wsrf-r": R, "wsrf-rw": RW, "wsrf-bf": BF, "wsnt": WSNT, "wsntw": WSNTW, "wstop": WSTOP}

# portType namespace and name for each WS-RF operation: Action = <ns>/<portType>/<message>.
WSRF_OPERATIONS: dict[str, tuple[str, str]] = {
    "GetResourcePropertyDocument": (RPW, "GetResourcePropertyDocument"),
    "GetResourceProperty": (RPW, "GetResourceProperty"),
    "GetMultipleResourceProperties": (RPW, "GetMultipleResourceProperties"),
    "QueryResourceProperties": (RPW, "QueryResourceProperties"),
    "SetResourceProperties": (RPW, "SetResourceProperties"),
    "Destroy": (RLW, "ImmediateResourceTermination"),
    "SetTerminationTime": (RLW, "ScheduledResourceTermination"),
    "Subscribe": (WSNTW, "NotificationProducer"),
    "Renew": (WSNTW, "SubscriptionManager"),
    "Unsubscribe": (WSNTW, "SubscriptionManager"),
    "CreatePullPoint": (WSNTW, "CreatePullPoint"),
    "GetMessages": (WSNTW, "PullPoint"),
    "DestroyPullPoint": (WSNTW, "PullPoint"),
    "Notify": (WSNTW, "NotificationConsumer"),
}

# The namespace of each operation's request element (and of its response, fault elements too).
BODY_NS = {"GetResourcePropertyDocument": RP, "GetResourceProperty": RP, "GetMultipleResourceProperties": RP,
           "QueryResourceProperties": RP, "SetResourceProperties": RP, "Destroy": RL, "SetTerminationTime": RL,
           "Subscribe": WSNT, "Renew": WSNT, "Unsubscribe": WSNT, "CreatePullPoint": WSNT, "GetMessages": WSNT,
           "DestroyPullPoint": WSNT, "Notify": WSNT}


def action(operation: str, response: bool = False) -> str:
    """The WS-Addressing Action URI of a WS-RF/WSN operation's request or response."""
    ns, port_type = WSRF_OPERATIONS[operation]
    message = f"{operation}Response" if response else f"{operation}Request"
    if operation == "Notify":
        message = "Notify"
    return f"{ns}/{port_type}/{message}"


def q(ns: str, local: str) -> str:
    """Clark notation {ns}local."""
    return f"{{{ns}}}{local}"
