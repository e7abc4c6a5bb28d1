"""The editor's palette: node types from the sources of truth -- every spec file in a folder (a node per
function: ports from its arguments, form fields from ranges, defaults and docs), services by their WSDL URL
(ports from the operations' parts, complex types kept as structured fields), stage-in and stage-out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import ports
from .errors import EditorError

STAGE_IN: dict[str, Any] = {
    "id": "stage_in", "kind": "stage_in", "title": "stage in", "group": "data",
    "doc": "fetch a URL (file, ftp, gsiftp, http(s)) into the pipeline's content store, verified",
    "inputs": [], "outputs": [{"name": "data", "type": ports.ANY}],
    "params": [{"name": "stage_in", "dtype": "string", "required": True, "doc": "the URL to fetch"},
               {"name": "sha256", "dtype": "string", "required": False, "doc": "the digest the data must have"}]}
STAGE_OUT: dict[str, Any] = {
    "id": "stage_out", "kind": "stage_out", "title": "stage out", "group": "data",
    "doc": "deliver a step's output to a URL, verified; {PARAM} names a sweep's value",
    "inputs": [{"name": "data", "type": ports.ANY, "required": True}], "outputs": [],
    "params": [{"name": "to", "dtype": "string", "required": True, "doc": "the destination URL"}]}

PYTHON: dict[str, Any] = {
    "id": "python", "kind": "python", "title": "python", "group": "code",
    "doc": "a Python expression over the node's inputs and params (numpy as np), run in-process; its value is "
           "'result'. Name its inputs in the side panel.",
    "inputs": [], "outputs": [{"name": "result", "type": ports.ANY}],
    "params": [{"name": "python", "dtype": "string", "required": True, "doc": "e.g. np.mean(u) * scale"}]}


def _param(name: str, arg: Any, required: bool) -> dict[str, Any]:
    rng = arg.range
    return {"name": name, "dtype": str(arg.dtype), "required": required, "default": arg.default,
            "min": rng.min if rng else None, "max": rng.max if rng else None, "units": arg.units or "",
            "doc": arg.doc or ""}


def function_type(ref: str, lib: Any, name: str, fn: Any) -> dict[str, Any]:
    """A spec function as a node type; ref is SPEC#FUNCTION as the pipeline file will name it."""
    from ..bind.wrapper import output_names, python_params, python_returns

    req, opt = python_params(fn)
    inputs, params = [], []
    for a in req + opt:
        arg = fn.args[a]
        inputs.append({"name": a, "type": ports.of_arg(arg), "required": a in req, "doc": arg.doc or ""})
        if arg.shape is None:
            params.append(_param(a, arg, a in req))
    outputs = []
    returns = python_returns(fn)
    for o in output_names(fn):
        if o == "result" and o in returns and o not in fn.args:
            outputs.append({"name": o, "type": str(fn.result.dtype)})
        else:
            outputs.append({"name": o, "type": ports.of_arg(fn.args[o])})
    return {"id": f"compute:{ref}", "kind": "compute", "ref": ref, "title": name, "group": lib.name,
            "doc": fn.doc or "", "inputs": inputs, "params": params, "outputs": outputs}


def spec_types(folder: Path, relative_to: Path) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Node types of every spec in folder (and its subfolders, one level), and the specs that do not validate
    as {file, message} -- shown in the palette, with the CLI's message."""
    from ..spec.errors import SpecError
    from ..spec.load import load_spec

    types, problems = [], []
    files = sorted(set(folder.glob("*.yaml")) | set(folder.glob("*/*.yaml")))
    for f in files:
        try:
            text = f.read_text(errors="replace")[:4096]
        except OSError:
            continue
        if "functions:" not in text or "pipeline:" in text.split("functions:")[0]:
            continue  # a pipeline or another YAML file, not a spec
        ref = os.path.relpath(os.path.abspath(f), os.path.abspath(relative_to))  # as the file names it
        try:
            lib = load_spec(f)
        except SpecError as exc:
            problems.append({"file": ref, "message": str(exc)})
            continue
        for name, fn in lib.functions.items():
            types.append(function_type(f"{ref}#{name}", lib, name, fn))
    return types, problems


#: WS-RF, WS-BaseNotification and WS-ResourceLifetime operations a service offers beside its own
PLUMBING = frozenset({"CreatePullPoint", "GetMessages", "DestroyPullPoint", "Subscribe", "Unsubscribe", "Renew",
                      "PauseSubscription", "ResumeSubscription", "GetCurrentMessage", "Notify", "Destroy",
                      "SetTerminationTime", "GetResourceProperty", "GetMultipleResourceProperties",
                      "QueryResourceProperties", "SetResourceProperties", "GetResourcePropertyDocument",
                      "PutResourcePropertyDocument"})


def _xsd_type(t: Any, depth: int = 0) -> dict[str, Any]:
    """A zeep XML Schema type as a port description: a dtype, an NDArray, or structured fields (complex types
    kept as they are, to a depth of 8)."""
    name = getattr(getattr(t, "qname", None), "localname", None)
    if name == "NDArray":
        return {"type": "any[...]"}
    if name == "Complex":
        return {"type": "complex128"}
    elements = getattr(t, "elements", None)
    if elements:
        fields = [{"name": n, **_xsd_type(e.type, depth + 1)} for n, e in elements] if depth < 8 else []
        return {"type": ports.ANY, "fields": fields}
    for cls in type(t).__mro__:  # a restriction (a range) of a builtin type: that builtin
        q = getattr(cls, "_default_qname", None)
        if q is not None and cls.__module__.startswith("zeep.xsd.types.builtins"):
            return {"type": ports.XSD_DTYPES.get(q.localname, "string")}
    return {"type": "any"}


def service_types(url: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """A service's operations as node types, from its WSDL (url?wsdl); EditorError saying why it cannot be read."""
    from ..pipeline.errors import StepFailed
    from ..pipeline.executors.call import fetch_wsdl

    base = url.removesuffix("?wsdl").rstrip("/")
    try:
        data = fetch_wsdl(base, timeout)
    except StepFailed as exc:
        raise EditorError(f"{url}: cannot fetch the WSDL: {exc.cause}") from None
    from lxml import etree

    try:  # no entities, no network: a WSDL is data here
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    except etree.XMLSyntaxError as exc:
        raise EditorError(f"{url}: the WSDL cannot be parsed: {exc}") from None
    if etree.QName(root).text != "{http://schemas.xmlsoap.org/wsdl/}definitions":
        raise EditorError(f"{url}: the WSDL cannot be parsed: the document is <{etree.QName(root).localname}>, not a "
                          "WSDL 1.1 <definitions>")
    try:
        import io

        import zeep

        # the bytes fetched (size-limited) are what is parsed; imports it names are fetched by zeep's transport
        doc = zeep.wsdl.Document(io.BytesIO(data), zeep.Transport(timeout=timeout), base + "?wsdl")
    except Exception as exc:  # noqa: BLE001 - zeep raises many kinds for a bad document; say which
        raise EditorError(f"{url}: the WSDL cannot be parsed: {type(exc).__name__}: {exc}") from None
    types, seen = [], set()
    for binding in doc.bindings.values():
        for op_name, op in getattr(binding, "_operations", {}).items():
            if op_name.startswith("Create_") or op_name in PLUMBING or op_name in seen or op.input is None:
                continue
            seen.add(op_name)
            body_in = getattr(op.input, "body", None)
            body_out = getattr(op.output, "body", None) if op.output is not None else None
            ins = list(body_in.type.elements) if body_in is not None and hasattr(body_in.type, "elements") else []
            outs = list(body_out.type.elements) if body_out is not None and hasattr(body_out.type, "elements") else []
            inputs, params = [], []
            for n, el in ins:
                d = _xsd_type(el.type)
                req = getattr(el, "min_occurs", 1) >= 1
                inputs.append({"name": n, "type": d["type"], "required": req, "doc": "", **(
                    {"fields": d["fields"]} if "fields" in d else {})})
                if d["type"] not in (ports.ANY, "any[...]") and "fields" not in d:
                    params.append({"name": n, "dtype": d["type"], "required": req, "default": None, "min": None,
                                   "max": None, "units": "", "doc": ""})
            outputs = [{"name": n, **_xsd_type(el.type)} for n, el in outs] or [{"name": "result", "type": "*"}]
            ref = f"{base}#{op_name}"
            types.append({"id": f"call:{ref}", "kind": "call", "ref": ref, "title": op_name,
                          "group": base.rsplit("/", 1)[-1], "doc": getattr(op, "documentation", None) or "",
                          "inputs": inputs, "params": params, "outputs": outputs})
    if not types:
        raise EditorError(f"{url}: the WSDL describes no operation")
    return types


class Palette:
    """Every node type the editor offers, by id."""

    def __init__(self, spec_folders: list[Path], pipeline_dir: Path) -> None:
        self.types: dict[str, dict[str, Any]] = {"stage_in": STAGE_IN, "stage_out": STAGE_OUT, "python": PYTHON}
        self.problems: list[dict[str, str]] = []
        self.services: list[str] = []
        for folder in spec_folders:
            found, problems = spec_types(folder, pipeline_dir)
            self.types.update({t["id"]: t for t in found})
            self.problems += problems
        self.pipeline_dir = pipeline_dir

    def add_service(self, url: str) -> list[dict[str, Any]]:
        """Add a service's operations (by its WSDL URL); the node types added."""
        if not url.startswith(("http://", "https://")):
            raise EditorError(f"{url!r}: a service is added by its http(s):// URL (its WSDL at URL?wsdl)")
        found = service_types(url)
        self.types.update({t["id"]: t for t in found})
        if url not in self.services:
            self.services.append(url)
        return found

    def add_spec(self, ref: str) -> dict[str, Any] | None:
        """The node type of SPEC#FUNCTION (a spec outside the palette's folders, named by a pipeline file)."""
        from ..spec.errors import SpecError
        from ..spec.load import load_spec

        spec, _, name = ref.rpartition("#")
        try:
            lib = load_spec(self.pipeline_dir / spec)
        except (SpecError, OSError):
            return None
        fn = lib.functions.get(name)
        if fn is None:
            return None
        t = self.types[f"compute:{ref}"] = function_type(ref, lib, name, fn)
        return t

    def as_json(self) -> dict[str, Any]:
        """What the page's palette shows."""
        return {"types": list(self.types.values()), "problems": self.problems, "services": self.services}
