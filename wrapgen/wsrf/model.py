"""The service a spec becomes: one operation per servable function, with typed inputs and outputs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bind.wrapper import python_params, python_returns
from ..spec import load_spec
from ..spec.model import NUMERIC_DTYPES, Arg, Class, Function, Library
from .errors import WSRFError
from .ns import q

RESERVED = ("blob", "subscriptions", "pullpoints")  # URL paths of the service itself
OBJECT_RESERVED = ("destroy", "set_termination")  # names the client's remote objects use themselves
SERVABLE = (*NUMERIC_DTYPES, "string")


@dataclass
class Operation:
    """One kernel function as a SOAP operation (stateless) and as a WS-Resource type (stateful)."""

    name: str
    fn: Function
    inputs: list[tuple[str, Arg, bool]]  # (name, arg, required) in the Python signature's order
    outputs: list[tuple[str, Arg]]  # inout arrays first, then what the function returns
    namespace: str  # of the resource's messages and properties

    def collect(self, returned: Any, inout: dict[str, Any]) -> dict[str, Any]:
        """Map what the Python function returned (plus the updated inout arrays) to output names."""
        names = python_returns(self.fn)
        values = [] if not names else [returned] if len(names) == 1 else list(returned)
        out = {n: inout[n] for n, a in self.outputs if n not in names}
        out.update(zip(names, values))
        return out


@dataclass
class ClassModel:
    """A C++ class as a WS-Resource type: Create_<Class> constructs, methods are operations on the resource,
    readable properties are resource properties, Destroy runs the destructor."""

    name: str
    cls: Class
    constructor: Operation  # the served constructor's arguments (inputs only)
    methods: dict[str, Operation]
    property_args: dict[str, Arg]  # readable properties, as the values they are
    namespace: str  # of the method messages and the property document
    skipped: dict[str, str] = field(default_factory=dict)  # method or constructor -> why it is not served


@dataclass
class ServiceModel:
    """A spec's library as a service."""

    lib: Library
    spec: Path
    operations: dict[str, Operation] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # function -> why it cannot be served
    classes: dict[str, ClassModel] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The library name, also the service's URL path."""
        return self.lib.name

    @property
    def tns(self) -> str:
        """The target namespace of the kernel operations and their types."""
        return f"urn:wrapgen:{self.lib.name}"

    @property
    def key_qname(self) -> str:
        """QName of the reference parameter that carries a resource key."""
        return q(self.tns, "ResourceKey")


def _why_not(fname: str, fn: Function) -> str | None:
    for n, a in fn.args.items():
        if a.intent in ("in", "inout") and a.dtype not in SERVABLE:
            return f"argument {n!r} has dtype {a.dtype}, which cannot travel over SOAP"
        if a.intent == "out" and a.dtype not in SERVABLE:
            return f"output {n!r} has dtype {a.dtype}, which cannot travel over SOAP"
        if a.is_array and a.dtype == "string":
            return f"argument {n!r} is an array of strings, which NDArray does not carry"
    if fn.result is not None and fn.result.dtype not in SERVABLE:
        return f"its result has dtype {fn.result.dtype}, which cannot travel over SOAP"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", fname):
        return "its name is not a valid XML NCName"
    if fname in RESERVED or fname.startswith("Create_"):
        return f"its name is reserved by the service (/{fname} or a factory name)"
    return None


def service_model(spec: str | Path) -> ServiceModel:
    """Load a spec and describe the service it becomes; functions that cannot travel are listed as skipped."""
    path = Path(spec).resolve()
    lib = load_spec(path)
    model = ServiceModel(lib, path)
    for fname, fn in lib.functions.items():
        why = _why_not(fname, fn)
        if why:
            model.skipped[fname] = why
            continue
        model.operations[fname] = _operation(fname, fn, f"{model.tns}:{fname}")
    for cname, cls in lib.classes.items():
        served = _class_model(model, cname, cls)
        if isinstance(served, str):
            model.skipped[cname] = served
        else:
            model.classes[cname] = served
    if not model.operations and not model.classes:
        if model.skipped:
            why = "; ".join(f"{k}: {v}" for k, v in model.skipped.items())
        else:
            why = "it declares no functions and no classes"
        raise WSRFError(f"{path}: nothing of library {lib.name!r} can be served: {why}")
    return model


def _operation(name: str, fn: Function, namespace: str) -> Operation:
    required, optional = python_params(fn)
    inputs = [(n, fn.args[n], True) for n in required] + [(n, fn.args[n], False) for n in optional]
    outputs = [(n, fn.args[n]) for n in required + optional if fn.args[n].intent == "inout" and fn.args[n].is_array]
    outputs += [(r, fn.result if r == "result" else fn.args[r]) for r in python_returns(fn)]  # type: ignore[misc]
    return Operation(name, fn, inputs, outputs, namespace)


def _class_model(model: ServiceModel, cname: str, cls: Class) -> ClassModel | str:
    """The class as a resource type, or why it cannot be one. Methods and constructors whose arguments cannot
    travel (objects, callbacks) are left out, each with its reason; the rest is served."""
    if cname in model.operations or cname in RESERVED or cname.startswith("Create_"):
        return f"its name is taken by a function or reserved by the service (/{cname})"
    namespace = f"{model.tns}:{cname}"
    skipped: dict[str, str] = {}
    constructor = None
    for i, ctor in enumerate(cls.constructors):
        why = _why_not(cname, Function(args=ctor.args))
        if why is None and constructor is None:
            constructor = _operation(f"Create_{cname}", Function(args=ctor.args, doc=ctor.doc), namespace)
        elif why is not None:
            skipped[f"{cname} constructor {i + 1}"] = why
        else:
            skipped[f"{cname} constructor {i + 1}"] = "a served class has one factory: the first constructor whose " \
                                                      "arguments can travel is served"
    if constructor is None:
        return "no constructor's arguments can travel over SOAP: " + "; ".join(skipped.values())
    methods = {}
    for mname, method in cls.methods.items():
        why = _why_not(mname, method)
        if why is None and mname in OBJECT_RESERVED:
            why = "its name is an operation of every object resource"
        if why is not None:
            skipped[f"{cname}.{mname}"] = why
        else:
            methods[mname] = _operation(mname, method, namespace)
    props = {}
    for pname, prop in cls.properties.items():
        if prop.dtype in SERVABLE and prop.shape is None:
            props[pname] = Arg(dtype=prop.dtype, doc=prop.doc)
        else:
            skipped[f"{cname}.{pname}"] = f"property of dtype {prop.dtype}{' with a shape' if prop.shape else ''} " \
                                          "cannot be a resource property"
    return ClassModel(cname, cls, constructor, methods, props, namespace, skipped)
