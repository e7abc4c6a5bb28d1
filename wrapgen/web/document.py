"""The pipeline file as the canvas's graph and back. The file stays the pipeline YAML of wrapgen.pipeline: step
names are the node ids, keys are written sorted, wires as STEP.OUTPUT, node positions under `layout:` (runs
ignore it). A hand-written file opens as it is (nodes it does not place are laid out by depth)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from . import ports
from .errors import EditorError

KINDS = ("stage_in", "compute", "call", "python", "stage_out")
#: step fields that are links on the canvas, not node fields
_WIRES = ("inputs", "stage_out")


def type_id(kind: str, step: dict[str, Any]) -> str:
    """The palette type a step is drawn as."""
    if kind in ("compute", "call"):
        return f"{kind}:{step.get(kind)}"
    return kind


def _kind(step: dict[str, Any]) -> str | None:
    given = [k for k in KINDS if step.get(k) is not None]
    return given[0] if len(given) == 1 else None


def to_graph(text: str, outputs_of: Any = None) -> dict[str, Any]:
    """The canvas graph of a pipeline text: {name, doc, defaults, nodes, links}. outputs_of(type_id) gives a
    type's output names (to resolve a wire that names a step alone). EditorError if the text is not a mapping of
    steps (the checks of load_pipeline say the rest, node by node)."""
    from ..spec.errors import SpecError
    from ..spec.yamlsource import load_located

    try:  # the loader pipelines use: tags refused, aliases budgeted (a billion-laughs text is refused, not expanded)
        doc = load_located(text, "the pipeline").data
    except SpecError as exc:
        raise EditorError(str(exc)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("steps"), dict):
        raise EditorError("a pipeline file is a mapping with 'pipeline: NAME' and 'steps:'")
    layout = doc.get("layout") or {}
    nodes, links = [], []
    for name, step in doc["steps"].items():
        step = step if isinstance(step, dict) else {}
        kind = _kind(step) or "compute"
        fields = {k: v for k, v in step.items() if k not in _WIRES}
        pos = layout.get(name) if isinstance(layout, dict) else None
        nodes.append({"id": str(name), "type": type_id(kind, step), "kind": kind, "fields": fields,
                      "pos": list(pos) if isinstance(pos, (list, tuple)) and len(pos) == 2 else None})
        wires = dict(step.get("inputs") or {}) if kind != "stage_out" else {"data": step.get("stage_out")}
        for arg, ref in wires.items():
            if not isinstance(ref, str):
                continue
            src, _, out = ref.partition(".")
            if not out:
                src_step = doc["steps"].get(src)
                src_kind = _kind(src_step) if isinstance(src_step, dict) else None
                names = outputs_of(type_id(src_kind, src_step)) if src_kind and outputs_of else None
                out = "data" if src_kind == "stage_in" else (names[0] if names else "")
            links.append({"from": src, "output": out, "to": str(name), "input": str(arg)})
    _place(nodes, links)
    return {"name": doc.get("pipeline", ""), "doc": doc.get("doc", ""), "defaults": doc.get("defaults") or {},
            "nodes": nodes, "links": links}


def _place(nodes: list[dict[str, Any]], links: list[dict[str, Any]]) -> None:
    """Positions for nodes the file does not place: columns by depth, rows in file order."""
    ups: dict[str, list[str]] = {n["id"]: [] for n in nodes}
    for link in links:
        if link["to"] in ups:
            ups[link["to"]].append(link["from"])
    depth: dict[str, int] = {}

    def d(n: str, seen: frozenset[str] = frozenset()) -> int:
        if n not in depth:
            depth[n] = 0 if n in seen else 1 + max((d(u, seen | {n}) for u in ups.get(n, []) if u in ups),
                                                    default=-1)
        return depth[n]

    rows: dict[int, int] = {}
    for n in nodes:
        col = d(n["id"])
        row = rows[col] = rows.get(col, -1) + 1
        if n["pos"] is None:
            n["pos"] = [40 + 300 * col, 60 + 260 * row]


def jsonable(value: Any) -> Any:
    """value with every non-finite float as {"$float": "nan" | "inf" | "-inf"}: JSON has no NaN, and a page would
    refuse the whole document for one (decoded back by from_jsonable)."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def from_jsonable(value: Any) -> Any:
    """The inverse of jsonable."""
    if isinstance(value, dict):
        if set(value) == {"$float"} and value["$float"] in ("nan", "inf", "-inf"):
            return float(value["$float"])
        return {k: from_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    return value


def _floats(fields: dict[str, Any], ptype: dict[str, Any] | None) -> None:
    """Give float arguments float values again: the page's JSON has one number type, so 1.0 comes back as 1 (the
    key would not change, but a {param} in a stage-out's URL would, and the file would differ for nothing)."""
    if ptype is None:
        return
    real = {p["name"] for p in ptype.get("params", []) if str(p.get("dtype", "")).startswith(("float", "complex"))}

    def fix(v: Any) -> Any:
        return float(v) if isinstance(v, int) and not isinstance(v, bool) else v

    for k, v in (fields.get("params") or {}).items():
        if k in real:
            fields["params"][k] = fix(v)
    for table in (fields.get("sweep") or {}).values():
        if isinstance(table, dict):
            for k, values in table.items():
                if k in real and isinstance(values, list):
                    table[k] = [fix(v) for v in values]


def to_yaml(graph: dict[str, Any], types: dict[str, dict[str, Any]] | None = None) -> str:
    """The pipeline text of a canvas graph: sorted keys, wires as STEP.OUTPUT, positions under layout; types (the
    palette's) keep float parameters floats."""
    steps: dict[str, dict[str, Any]] = {}
    kinds: dict[str, str] = {}
    layout: dict[str, list[float]] = {}
    nodes, links = graph.get("nodes", []), graph.get("links", [])
    if not isinstance(nodes, list) or not isinstance(links, list):
        raise EditorError("the graph's nodes and links must be lists")
    for i, n in enumerate(nodes):
        if not isinstance(n, dict) or not isinstance(n.get("id"), str):
            raise EditorError(f"nodes[{i}]: each node needs a string id (its step name)")
        fields = n.get("fields") or {}
        if not isinstance(fields, dict):
            raise EditorError(f"nodes[{i}] ({n['id']}): fields must be an object")
        fields = {k: from_jsonable(v) for k, v in fields.items() if k not in _WIRES and v not in (None, "", {}, [])}
        _floats(fields, (types or {}).get(str(n.get("type"))))
        steps[n["id"]] = fields
        kinds[n["id"]] = str(n.get("kind") or n.get("type") or "")
        pos = n.get("pos")
        if pos:
            if not (isinstance(pos, list) and len(pos) == 2 and all(isinstance(v, (int, float)) and
                                                                    not isinstance(v, bool) for v in pos)):
                raise EditorError(f"nodes[{i}] ({n['id']}): pos must be [x, y], two numbers")
            layout[n["id"]] = [round(float(v), 1) for v in pos]
    for i, link in enumerate(links):
        ends = [link.get(k) if isinstance(link, dict) else None for k in ("from", "output", "to", "input")]
        if not all(isinstance(e, str) for e in ends):
            raise EditorError(f"links[{i}]: a link names from, output, to and input as strings")
        src_step, output, dst, arg = ends
        to = steps.get(dst)
        if to is None:
            raise EditorError(f"links[{i}]: it goes to {dst!r}, which is not a node")
        if kinds[dst] == "stage_out":  # a stage-out's one input is its stage_out: field, `to:` set or not yet
            to["stage_out"] = f"{src_step}.{output}"
        else:
            to.setdefault("inputs", {})[arg] = f"{src_step}.{output}"
            (to.get("params") or {}).pop(arg, None)
    for fields in steps.values():
        if fields.get("params") == {}:
            del fields["params"]
    doc: dict[str, Any] = {"pipeline": graph.get("name") or "pipeline", "steps": steps}
    if graph.get("doc"):
        doc["doc"] = graph["doc"]
    if graph.get("defaults"):
        doc["defaults"] = graph["defaults"]
    if layout:
        doc["layout"] = layout
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False, allow_unicode=True, width=100)


def check(text: str, file: Path, types: dict[str, dict[str, Any]], graph: dict[str, Any] | None = None
          ) -> list[dict[str, Any]]:
    """Every problem of a pipeline text, each with the step it concerns (None for the file): the checks of
    `wrapgen run`, then every link's port types."""
    from ..pipeline.errors import PipelineFileError
    from ..pipeline.load import parse_pipeline

    problems: list[dict[str, Any]] = []
    try:
        parse_pipeline(text, str(file), file.resolve().parent)
    except PipelineFileError as exc:
        for issue in exc.issues:
            parts = issue.field.split(".")
            problems.append({"step": parts[1] if len(parts) > 1 and parts[0] == "steps" else None,
                             "message": str(issue)})
    if graph is None:
        try:
            graph = to_graph(text, lambda t: [o["name"] for o in types.get(t, {}).get("outputs", [])])
        except EditorError as exc:
            return problems or [{"step": None, "message": f"{file}: {exc}"}]
    kinds = {n["id"]: n["type"] for n in graph["nodes"]}
    for link in graph["links"]:
        src, dst = types.get(kinds.get(link["from"], "")), types.get(kinds.get(link["to"], ""))
        if src is None or dst is None:
            continue
        out = next((o["type"] for o in src["outputs"] if o["name"] == link["output"]), None)
        inp = next((i["type"] for i in dst["inputs"] if i["name"] == link["input"]), None)
        why = ports.mismatch(out, inp) if out and inp else None
        if why:
            problems.append({"step": link["to"], "message": f"{file}: steps.{link['to']}.inputs.{link['input']}: "
                             f"{link['from']}.{link['output']}: {why}"})
    return problems
