"""WS-Resource operations: the factory, Start/Cancel/FetchResult, WS-ResourceProperties 1.2 and
WS-ResourceLifetime 1.2 on one computation's resource."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from .. import proc
from . import ns as N
from .envelope import envelope, epr, now_utc, time_element, xs_datetime
from .errors import (
    ClientFault,
    InvalidResourcePropertyQNameFault,
    ResourceNotDestroyedFault,
    ResourceUnknownFault,
    SoapFault,
)
from .model import Operation
from .query import QueryError, evaluate_xpath
from .store import Resource
from .times import parse_datetime, parse_duration
from .values import decode_params, encode_outputs, encode_params, missing_inputs
from .wsdl import resource_action

if TYPE_CHECKING:
    from .app import Call
    from .context import HandlerContext

class ResourceHandlers:
    """The operations of every function's resource type, bound to one application."""

    def __init__(self, ctx: HandlerContext) -> None:
        self.ctx = ctx

    # --- factory --------------------------------------------------------------------------------------
    def create(self, call: Call, op: Operation) -> etree._Element:
        """Create_<function>: a new resource in state Created; returns its EPR."""
        model, req = call.model, call.request
        assert req is not None
        params = decode_params(req.body, model.tns, op, require=False)
        lifetime = self.ctx.config.lifetime
        address = f"{call.base_url}/{model.name}/{op.name}"
        key = self.ctx.store.create(model.name, op.name, params, time.time() + lifetime if lifetime else None,
                                    address, owner=call.identity)
        body = etree.Element(N.q(model.tns, f"Create_{op.name}Response"), nsmap={"tns": model.tns})
        body.append(epr(address, model.key_qname, key))
        from .wsdl import kernel_action

        return envelope(body, kernel_action(model, f"Create_{op.name}", True), req.message_id)

    # --- dispatch -------------------------------------------------------------------------------------
    def dispatch(self, call: Call, op: Operation) -> etree._Element:
        """Run the resource operation named by the request body."""
        req = call.request
        assert req is not None
        tag = req.body.tag
        key = req.header(call.model.key_qname)
        local = tag.split("}")[-1]
        if tag == N.q(op.namespace, local) and local in ("Start", "Cancel", "FetchResult"):
            handler, response = getattr(self, f"op_{local}"), resource_action(op, local, True)
        elif local in N.BODY_NS and tag == N.q(N.BODY_NS[local], local) and hasattr(self, f"op_{local}"):
            handler, response = getattr(self, f"op_{local}"), N.action(local, True)
        else:
            raise ClientFault(f"unknown operation <{tag}> on a {op.name} resource; operations: Start, Cancel, "
                              f"FetchResult (in {op.namespace}), GetResourcePropertyDocument, GetResourceProperty, "
                              "GetMultipleResourceProperties, QueryResourceProperties, SetResourceProperties, "
                              "Destroy, SetTerminationTime, Subscribe")
        if not key:
            raise ResourceUnknownFault(f"the request carries no {call.model.key_qname} reference parameter: "
                                       "address the resource with the EndpointReference Create returned")
        res = self.ctx.store.get(key, call.model.name, op.name)
        if res is None:
            raise ResourceUnknownFault(f"no {op.name} resource with key {key!r} (it never existed, was destroyed, "
                                       "or its termination time passed)")
        self.ctx.check_owner(call, res.owner, f"{op.name} resource")
        body = handler(call, op, res, req.body)
        return envelope(body, response, req.message_id)

    # --- computation --------------------------------------------------------------------------------------
    def op_Start(self, call: Call, op: Operation, res: Resource, body: etree._Element) -> etree._Element:
        """Start the computation in a detached runner process."""
        if res.status != "Created":
            raise ClientFault(f"this {op.name} resource was already started (status {res.status})")
        missing = missing_inputs(op, res.params)
        if missing:
            raise ClientFault(f"{op.name}: cannot start: missing argument{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(map(repr, missing))}; set them with SetResourceProperties (Parameters)")
        if not self.ctx.store.mark_running(res.key):
            raise ClientFault(f"this {op.name} resource was started or cancelled meanwhile")
        from .executor import submit
        from .runner import launch

        state = Path(self.ctx.config.state)
        try:
            if not submit(state, res.key):  # no executor beside this server: a detached runner instead
                launch(state, res.key, call.model.spec, self.ctx.config.cache, state.with_suffix(".runner.log"))
        except Exception as exc:  # the resource must not stay Running with nothing running it
            self.ctx.store.finish(res.key, "Failed", error=f"could not start the runner: {exc}",
                                  exception=type(exc).__name__)
            raise SoapFault(f"could not start the {op.name} computation: {exc}") from None
        return etree.Element(N.q(op.namespace, "StartResponse"))

    def op_Cancel(self, call: Call, op: Operation, res: Resource, body: etree._Element) -> etree._Element:
        """Stop a computation that has not finished."""
        changed, pid = self.ctx.store.cancel(res.key)
        if not changed:
            raise ClientFault(f"this {op.name} resource has finished (status {res.status}); nothing to cancel")
        proc.stop_group(pid)
        return etree.Element(N.q(op.namespace, "CancelResponse"))

    def op_FetchResult(self, call: Call, op: Operation, res: Resource, body: etree._Element) -> etree._Element:
        """The outputs of a Succeeded computation; the kernel's fault for a Failed one."""
        if res.status == "Failed":
            f = SoapFault(res.error or "failed", element=N.q(call.model.tns, "KernelFault"),
                          error_code=res.error_code, exception=res.exception)
            if res.exception and res.exception not in ("KernelCrashed", "KernelExited", "KernelTimeout",
                                                       "KernelOutOfMemory", "Exception"):
                f.faultcode = "Client"
            raise f
        if res.status != "Succeeded":
            raise ClientFault(f"no result: the {op.name} computation is {res.status}"
                              + (" (call Start first)" if res.status == "Created" else ""))
        out = etree.Element(N.q(op.namespace, "FetchResultResponse"), nsmap={"tns": call.model.tns})
        encode_outputs(out, call.model.tns, op, res.result or {}, self.ctx.offloader(call, res.key), call.splicer)
        return out

    # --- resource properties ------------------------------------------------------------------------------
    def document(self, call: Call, op: Operation, res: Resource, splice: bool = True) -> etree._Element:
        """The resource property document (splice=False: every value in the tree, for queries)."""
        ns, tns = op.namespace, call.model.tns
        splicer = call.splicer if splice else None
        doc = etree.Element(N.q(ns, "ResourceProperties"), nsmap={"r": ns, "tns": tns, "wsrf-rl": N.RL,
                                                                  "wsrf-rp": N.RP, "xsi": N.XSI})
        etree.SubElement(doc, N.q(ns, "Status")).text = res.status
        etree.SubElement(doc, N.q(ns, "Progress")).text = repr(float(res.progress))
        encode_params(etree.SubElement(doc, N.q(ns, "Parameters")), tns, op, res.params, splicer)
        if res.status == "Succeeded" and res.result is not None:
            encode_outputs(etree.SubElement(doc, N.q(ns, "Result")), tns, op, res.result,
                           self.ctx.offloader(call, res.key), splicer)
        if res.error:
            etree.SubElement(doc, N.q(ns, "Error")).text = res.error
        etree.SubElement(doc, N.q(N.RL, "CurrentTime")).text = xs_datetime(now_utc())
        time_element(doc, N.q(N.RL, "TerminationTime"), res.termination)
        etree.SubElement(doc, N.q(N.RP, "QueryExpressionDialect")).text = N.XPATH_DIALECT
        return doc

    def op_GetResourcePropertyDocument(self, call: Call, op: Operation, res: Resource,
                                       body: etree._Element) -> etree._Element:
        """The whole document."""
        out = etree.Element(N.q(N.RP, "GetResourcePropertyDocumentResponse"))
        out.append(self.document(call, op, res))
        return out

    def op_GetResourceProperty(self, call: Call, op: Operation, res: Resource,
                               body: etree._Element) -> etree._Element:
        """One property by QName."""
        return property_response(self.document(call, op, res), body)

    def op_GetMultipleResourceProperties(self, call: Call, op: Operation, res: Resource,
                                         body: etree._Element) -> etree._Element:
        """Several properties by QName, in the order asked."""
        return multiple_properties_response(self.document(call, op, res), body)

    def op_QueryResourceProperties(self, call: Call, op: Operation, res: Resource,
                                   body: etree._Element) -> etree._Element:
        """An XPath 1.0 query over the document, evaluated in a child process with a time limit."""
        qe = body.find(N.q(N.RP, "QueryExpression"))
        if qe is None:
            raise ClientFault("QueryResourceProperties has no QueryExpression", element=N.q(N.RP, "InvalidQueryExpressionFault"))
        dialect = (qe.get("Dialect") or "").strip()
        if dialect != N.XPATH_DIALECT:
            raise ClientFault(f"query dialect {dialect!r} is not supported; use {N.XPATH_DIALECT}",
                              element=N.q(N.RP, "UnknownQueryExpressionDialectFault"))
        expression = (qe.text or "").strip()
        namespaces = {k: v for k, v in qe.nsmap.items() if k}
        try:
            items = evaluate_xpath(self.document(call, op, res, splice=False), expression, namespaces,
                                   self.ctx.config.query_timeout)
        except QueryError as exc:
            raise ClientFault(str(exc), element=N.q(N.RP, exc.fault)) from None
        out = etree.Element(N.q(N.RP, "QueryResourcePropertiesResponse"))
        texts = []
        for item in items:
            if isinstance(item, etree._Element):
                out.append(item)
            else:
                texts.append(item)
        if texts:
            out.text = " ".join(texts)
        return out

    def op_SetResourceProperties(self, call: Call, op: Operation, res: Resource,
                                 body: etree._Element) -> etree._Element:
        """Insert/Update/Delete of Parameters, allowed until Start."""
        params = dict(res.params)
        target = N.q(op.namespace, "Parameters")
        changes = [c for c in body if isinstance(c.tag, str)]
        if not changes:
            raise ClientFault("SetResourceProperties holds no Insert, Update or Delete",
                              element=N.q(N.RP, "InvalidModificationFault"))
        for change in changes:
            kind = change.tag.split("}")[-1]
            if change.tag not in (N.q(N.RP, "Insert"), N.q(N.RP, "Update"), N.q(N.RP, "Delete")):
                raise ClientFault(f"unexpected <{change.tag}> in SetResourceProperties",
                                  element=N.q(N.RP, "InvalidModificationFault"))
            if kind == "Delete":
                props = [change.get("ResourceProperty", "")]
                el_ns = change.nsmap
                prefix, _, local = props[0].rpartition(":")
                qn = f"{{{el_ns.get(prefix or None, '')}}}{local}"
                if qn != target:
                    raise ClientFault(f"property {qn} cannot be deleted; only {target} can be changed",
                                      element=N.q(N.RP, "UnableToModifyResourcePropertyFault"))
                params = {}
                continue
            for el in change:
                if not isinstance(el.tag, str):
                    continue
                if el.tag != target:
                    raise ClientFault(f"property {el.tag} cannot be changed; only {target} can, before Start",
                                      element=N.q(N.RP, "UnableToModifyResourcePropertyFault"))
                params = decode_params(el, call.model.tns, op, require=False)
        if not self.ctx.store.set_params(res.key, params):
            now = self.ctx.store.get(res.key)
            raise ClientFault(f"the parameters are fixed once the computation has started (status "
                              f"{now.status if now else 'destroyed'})",
                              element=N.q(N.RP, "UnableToModifyResourcePropertyFault"))
        return etree.Element(N.q(N.RP, "SetResourcePropertiesResponse"))

    def op_Subscribe(self, call: Call, op: Operation, res: Resource, body: etree._Element) -> etree._Element:
        """WS-BaseNotification Subscribe to this resource's Status and ResourceTermination topics."""
        return self.ctx.notifications.subscribe(call, op, res, body)

    # --- lifetime -----------------------------------------------------------------------------------------
    def op_Destroy(self, call: Call, op: Operation, res: Resource, body: etree._Element) -> etree._Element:
        """Destroy now (a running computation is stopped)."""
        existed, pid = self.ctx.store.destroy(res.key)
        if not existed:
            raise ResourceNotDestroyedFault("the resource was destroyed meanwhile")
        proc.stop_group(pid)
        return etree.Element(N.q(N.RL, "DestroyResponse"))

    def op_SetTerminationTime(self, call: Call, op: Operation, res: Resource,
                              body: etree._Element) -> etree._Element:
        """Schedule destruction at a time or after a duration (nil: never)."""
        now = time.time()
        rtt = body.find(N.q(N.RL, "RequestedTerminationTime"))
        dur = body.find(N.q(N.RL, "RequestedLifetimeDuration"))
        if (rtt is None) == (dur is None):
            raise ClientFault("SetTerminationTime needs exactly one of RequestedTerminationTime and "
                              "RequestedLifetimeDuration", element=N.q(N.RL, "UnableToSetTerminationTimeFault"))
        if rtt is not None:
            nil = rtt.get(N.q(N.XSI, "nil")) in ("true", "1")
            when = None if nil else parse_datetime(rtt.text or "")
        else:
            when = now + parse_duration(dur.text or "")
        self.ctx.store.set_termination(res.key, when)
        out = etree.Element(N.q(N.RL, "SetTerminationTimeResponse"), nsmap={"xsi": N.XSI})
        time_element(out, N.q(N.RL, "NewTerminationTime"), when)
        time_element(out, N.q(N.RL, "CurrentTime"), now)
        return out


# --- reads of a property document, shared by computations' and objects' resources ---------------------------
def select_properties(doc: etree._Element, qname_el: etree._Element, what: str) -> list[etree._Element]:
    """The children of doc named by the QName text of qname_el (InvalidResourcePropertyQName if none)."""
    text = (qname_el.text or "").strip()
    prefix, _, local = text.rpartition(":")
    ns = qname_el.nsmap.get(prefix or None)
    if not local or (prefix and ns is None):
        raise InvalidResourcePropertyQNameFault(f"{what} {text!r} is not a QName with a declared prefix")
    found = [c for c in doc if c.tag == (f"{{{ns}}}{local}" if ns else local)]
    if not found:
        names = ", ".join(sorted({c.tag for c in doc}))
        raise InvalidResourcePropertyQNameFault(f"this resource has no property {{{ns or ''}}}{local}; "
                                                f"it has {names}")
    return found


def property_response(doc: etree._Element, body: etree._Element) -> etree._Element:
    """GetResourcePropertyResponse: one property of doc by QName."""
    out = etree.Element(N.q(N.RP, "GetResourcePropertyResponse"))
    out.extend(select_properties(doc, body, "GetResourceProperty"))
    return out


def multiple_properties_response(doc: etree._Element, body: etree._Element) -> etree._Element:
    """GetMultipleResourcePropertiesResponse: several properties of doc by QName, in the order asked."""
    out = etree.Element(N.q(N.RP, "GetMultipleResourcePropertiesResponse"))
    names = body.findall(N.q(N.RP, "ResourceProperty"))
    if not names:
        raise InvalidResourcePropertyQNameFault("GetMultipleResourceProperties names no ResourceProperty")
    found: list[etree._Element] = []
    for el in names:
        found += [e for e in select_properties(doc, el, "ResourceProperty") if e not in found]
    out.extend(found)
    return out
