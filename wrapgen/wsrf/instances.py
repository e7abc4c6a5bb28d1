"""C++ objects as WS-Resources, the HTTP side: Create_<Class> (the constructor), its methods as operations on
the resource, its readable properties as resource properties, Destroy (the destructor) and SetTerminationTime.
The object itself lives in a process of its own (wrapgen.wsrf.objects) that every server worker can reach."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from .. import proc
from . import ns as N
from .envelope import envelope, epr, now_utc, time_element, xs_datetime
from .errors import ClientFault, ResourceNotDestroyedFault, ResourceUnknownFault, SoapFault
from .faults import kernel_fault
from .model import ClassModel
from .resource import multiple_properties_response, property_response
from .store import Resource
from .values import decode_params, encode_outputs
from .wsdl import kernel_action
from .wsdl_objects import OBJECT_WSRF_OPS, object_action

if TYPE_CHECKING:
    from .app import Call, WsrfApp


class InstanceHandlers:
    """The factory and the resource operations of every served class, bound to one application."""

    def __init__(self, app: WsrfApp) -> None:
        self.app = app

    def _log(self, key: str) -> Path:
        return Path(self.app.config.state).with_suffix(".objects") / f"{key}.log"

    def create(self, call: Call, cm: ClassModel) -> etree._Element:
        """Create_<Class>: construct the object in a process of its own; returns its EPR."""
        from .objects import start

        model, req, store, config = call.model, call.request, self.app.store, self.app.config
        assert req is not None
        params = decode_params(req.body, model.tns, cm.constructor, require=True)
        address = f"{call.base_url}/{model.name}/{cm.name}"
        key = store.create(model.name, cm.name, {}, time.time() + config.lifetime if config.lifetime else None,
                           address, owner=call.identity)
        store.mark_running(key)  # Running: the object is alive (the sweeper checks its process like a computation's)
        try:
            pid = start(str(model.spec), cm.name, config.state, key, params, config.cache, self._log(key),
                        config.call_timeout)
        except BaseException as exc:
            store.destroy(key, "the constructor failed")
            raise kernel_fault(exc, model.tns) from None
        store.set_pid(key, pid)
        body = etree.Element(N.q(model.tns, f"Create_{cm.name}Response"), nsmap={"tns": model.tns})
        body.append(epr(address, model.key_qname, key))
        return envelope(body, kernel_action(model, f"Create_{cm.name}", True), req.message_id)

    def dispatch(self, call: Call, cm: ClassModel) -> etree._Element:
        """A method, a property read, Destroy or SetTerminationTime on one object."""
        req = call.request
        assert req is not None
        tag, local = req.body.tag, req.body.tag.split("}")[-1]
        if tag == N.q(cm.namespace, local) and local in cm.methods:
            handler, action = self._method, object_action(cm, local, True)
        elif local in OBJECT_WSRF_OPS and tag == N.q(N.BODY_NS[local], local):
            handler, action = getattr(self, f"op_{local}"), N.action(local, True)
        else:
            raise ClientFault(f"unknown operation <{tag}> on a {cm.name} object; methods: "
                              f"{', '.join(cm.methods) or 'none'} (in {cm.namespace}); " + ", ".join(OBJECT_WSRF_OPS))
        key = req.header(call.model.key_qname)
        if not key:
            raise ResourceUnknownFault(f"the request carries no {call.model.key_qname} reference parameter: address "
                                       f"the object with the EndpointReference Create_{cm.name} returned")
        res = self.app.store.get(key, call.model.name, cm.name)
        if res is None:
            raise ResourceUnknownFault(f"no {cm.name} object with key {key!r} (it never existed, was destroyed, or "
                                       "its termination time passed)")
        self.app.check_owner(call, res.owner, f"{cm.name} object")
        if res.status != "Running" and local != "Destroy":
            raise SoapFault(f"the {cm.name} object is lost: {res.error}", element=N.q(call.model.tns, "KernelFault"),
                            exception=res.exception)
        return envelope(handler(call, cm, res, req.body), action, req.message_id)

    def _ask(self, call: Call, cm: ClassModel, res: Resource, message: tuple) -> object:
        from ..bind.errors import KernelCrashed, KernelTimeout
        from .objects import ObjectLost, request

        try:
            return request(self.app.config.state, res.key, message, self.app.config.call_timeout, self._log(res.key))
        except ObjectLost as exc:
            self.app.store.finish(res.key, "Failed", error=str(exc), exception="KernelCrashed")
            raise kernel_fault(KernelCrashed(f"{cm.name}: {exc}"), call.model.tns) from None
        except TimeoutError:  # a method that hangs holds the object: it is stopped, and the object with it
            proc.stop_group(res.pid)
            why = f"{cm.name}.{message[1]} gave no answer within {self.app.config.call_timeout:g} s; the object's " \
                  "process was stopped"
            self.app.store.finish(res.key, "Failed", error=why, exception="KernelTimeout")
            raise kernel_fault(KernelTimeout(why), call.model.tns) from None
        except Exception as exc:  # what the method raised: declared errors, refused arguments
            raise kernel_fault(exc, call.model.tns) from None

    def _method(self, call: Call, cm: ClassModel, res: Resource, body: etree._Element) -> etree._Element:
        op = cm.methods[body.tag.split("}")[-1]]
        params = decode_params(body, cm.namespace, op, require=True, inner=call.model.tns)
        returned = self._ask(call, cm, res, ("call", op.name, params))
        out = etree.Element(N.q(cm.namespace, f"{op.name}Response"), nsmap={"o": cm.namespace, "tns": call.model.tns})
        encode_outputs(out, cm.namespace, op, op.collect(returned, params), self.app.offloader(call, res.key),
                       call.splicer, inner=call.model.tns)
        return out

    # --- resource properties: the object's readable properties, read from it ------------------------------
    def document(self, call: Call, cm: ClassModel, res: Resource) -> etree._Element:
        """The resource property document: every readable property, then the lifetime properties."""
        from .codec import encode_value

        values = self._ask(call, cm, res, ("get", list(cm.property_args))) if cm.property_args else {}
        doc = etree.Element(N.q(cm.namespace, "ResourceProperties"),
                            nsmap={"o": cm.namespace, "tns": call.model.tns, "wsrf-rl": N.RL, "xsi": N.XSI})
        for name, arg in cm.property_args.items():
            encode_value(doc, cm.namespace, name, arg, values[name], None, call.splicer,  # type: ignore[index]
                         inner=call.model.tns)
        etree.SubElement(doc, N.q(N.RL, "CurrentTime")).text = xs_datetime(now_utc())
        time_element(doc, N.q(N.RL, "TerminationTime"), res.termination)
        return doc

    def op_GetResourcePropertyDocument(self, call: Call, cm: ClassModel, res: Resource,
                                       body: etree._Element) -> etree._Element:
        """The whole document."""
        out = etree.Element(N.q(N.RP, "GetResourcePropertyDocumentResponse"))
        out.append(self.document(call, cm, res))
        return out

    def op_GetResourceProperty(self, call: Call, cm: ClassModel, res: Resource, body: etree._Element) -> etree._Element:
        """One property by QName."""
        return property_response(self.document(call, cm, res), body)

    def op_GetMultipleResourceProperties(self, call: Call, cm: ClassModel, res: Resource,
                                         body: etree._Element) -> etree._Element:
        """Several properties by QName, in the order asked."""
        return multiple_properties_response(self.document(call, cm, res), body)

    # --- lifetime -----------------------------------------------------------------------------------------
    def op_Destroy(self, call: Call, cm: ClassModel, res: Resource, body: etree._Element) -> etree._Element:
        """Run the destructor (in the object's process, which then ends) and forget the object."""
        from .objects import destruct

        if res.status == "Running":
            destruct(self.app.config.state, res.key, self.app.config.call_timeout)  # stuck: stopped below
        existed, pid = self.app.store.destroy(res.key)
        if not existed:
            raise ResourceNotDestroyedFault("the object was destroyed meanwhile")
        proc.stop_group(pid)
        return etree.Element(N.q(N.RL, "DestroyResponse"))

    def op_SetTerminationTime(self, call: Call, cm: ClassModel, res: Resource, body: etree._Element) -> etree._Element:
        """Schedule the destruction (the sweeper runs the destructor then)."""
        return self.app.resources.op_SetTerminationTime(call, None, res, body)  # type: ignore[arg-type]
