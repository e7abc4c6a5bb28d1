"""Read a pipeline file: YAML with positions -> the typed model -> cross-step checks -> a Graph of nodes.
Every mistake is reported as file:line:column: field: what was expected, all of them at once."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..bind.wrapper import output_names, python_params
from ..spec.errors import SpecError, SpecIssue
from ..spec.yamlsource import Located, read_source
from .errors import PipelineFileError
from .graph import Graph, Node, Wire, find_cycle, label, paused_gc, points, toposort
from .model import Pipeline, Step

KINDS = ("stage_in", "compute", "call", "python", "stage_out")
MAX_NODES = 100_000
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_-]*)\}")


def load_pipeline(path: str | os.PathLike[str]) -> Graph:
    """Read, check and expand a pipeline file; PipelineFileError lists every problem with its position."""
    p = Path(path)
    try:
        text = read_source(p, "the pipeline")
    except SpecError as exc:
        raise PipelineFileError(exc.issues) from None
    return parse_pipeline(text, str(p), p.resolve().parent)


def parse_pipeline(text: str, file: str = "<pipeline>", base_dir: Path | None = None) -> Graph:
    """Check pipeline text; base_dir resolves relative spec paths and file:// URLs."""
    with paused_gc():
        return _parse(text, file, base_dir)


def _parse(text: str, file: str, base_dir: Path | None) -> Graph:
    from ..spec.load import validate_located

    try:
        located, model = validate_located(text, file, Pipeline, "pipeline, steps")
    except SpecError as exc:
        raise PipelineFileError(exc.issues) from None
    checker = _Checker(model, located, base_dir or Path.cwd())
    issues = sorted(checker.check(), key=lambda i: (i.line, i.column))
    if issues:
        raise PipelineFileError(issues)
    graph = checker.expand()
    if checker.issues:
        raise PipelineFileError(sorted(checker.issues, key=lambda i: (i.line, i.column)))
    graph.source = Path(file) if base_dir else None
    return graph


def _swept(step: Step) -> dict[str, list[Any]]:
    """A step's swept parameters (product and zip alike)."""
    return {**(step.sweep.product if step.sweep else {}), **(step.sweep.zip if step.sweep else {})}


def kind_of(step: Step) -> str:
    """Which of the three kinds a (checked) step is."""
    return next(k for k in KINDS if getattr(step, k) is not None)


class _Checker:
    def __init__(self, model: Pipeline, located: Located, base: Path) -> None:
        self.model, self.located, self.base = model, located, base
        self.libs: dict[str, tuple[Path, Any, Any]] = {}  # step -> (spec path, Library, Function)
        self.outputs: dict[str, tuple[str, ...]] = {}
        self.issues: list[SpecIssue] = []
        self._specs: dict[Path, Any] = {}  # a spec file read once, however many steps call into it
        self._paths: dict[str, Path] = {}

    def spec_path(self, text: str) -> Path:
        """A spec's absolute path (resolved once per text: 10 000 steps may name one spec)."""
        path = self._paths.get(text)
        if path is None:
            path = self._paths[text] = (self.base / text).resolve()
        return path

    def spec(self, path: Path) -> Any:
        """The spec at path (its Library), or the SpecError reading it gave."""
        from ..spec.load import load_spec

        if path not in self._specs:
            try:
                self._specs[path] = load_spec(path)
            except SpecError as exc:
                self._specs[path] = exc
        return self._specs[path]

    def issue(self, path: tuple[str | int, ...], message: str, key: bool = False) -> SpecIssue:
        return self.located.issue(path, message, key)

    # --- checks ---------------------------------------------------------------------------------------------
    def check(self) -> Iterator[SpecIssue]:
        steps = self.model.steps
        for name, step in steps.items():
            given = [k for k in KINDS if getattr(step, k) is not None]
            if len(given) != 1:
                what = "none" if not given else " and ".join(given)
                yield self.issue(("steps", name), f"a step is exactly one of stage_in, compute, call, python, stage_out; "
                                 f"this one has {what}")
                continue
            yield from getattr(self, f"_check_{given[0]}")(name, step)
        edges = {n: self._upstream_steps(s) for n, s in steps.items()}
        for name, deps in edges.items():
            for i, dep in enumerate(steps[name].after):
                if dep not in steps:
                    yield self.issue(("steps", name, "after", i), f"no step {dep!r}{self._known()}")
            edges[name] = [d for d in deps if d in steps]
        cycle = find_cycle(edges)
        if cycle:
            yield self.issue(("steps", cycle[0]), "the steps wait for each other in a cycle: "
                             + " -> ".join(cycle))

    def _known(self) -> str:
        return f"; the steps are {', '.join(self.model.steps)}"

    def _upstream_steps(self, step: Step) -> list[str]:
        refs = list(step.inputs.values()) + ([step.stage_out] if step.stage_out else [])
        return list(dict.fromkeys([r.split(".", 1)[0] for r in refs] + list(step.after)))

    def _only(self, name: str, step: Step, allowed: set[str]) -> Iterator[SpecIssue]:
        for f in ("sha256", "inputs", "params", "outputs", "sweep", "job", "service", "isolate", "to"):
            if f not in allowed and f in step.model_fields_set:
                yield self.issue(("steps", name, f), f"{f} does not belong to a {kind_of(step)} step", key=True)

    def _check_stage_in(self, name: str, step: Step) -> Iterator[SpecIssue]:
        yield from self._only(name, step, {"sha256"})
        yield from self._url(("steps", name, "stage_in"), step.stage_in or "")

    def _check_stage_out(self, name: str, step: Step) -> Iterator[SpecIssue]:
        yield from self._only(name, step, {"to"})
        if step.to is None:
            yield self.issue(("steps", name), "a stage_out step needs to: URL", key=False)
        else:
            yield from self._url(("steps", name, "to"), step.to, placeholders=True)
        yield from self._ref(("steps", name, "stage_out"), step.stage_out or "")

    def _url(self, path: tuple[str | int, ...], url: str, placeholders: bool = False) -> Iterator[SpecIssue]:
        from ..urls.url import parse_url

        text = _PLACEHOLDER.sub("x", url) if placeholders else url
        try:
            parse_url(self._absolute(text))
        except Exception as exc:  # noqa: BLE001 - parse_url's errors are UsageError/TransferError; say why
            yield self.issue(path, f"{url!r}: {exc}")

    def _absolute(self, url: str) -> str:
        """A bare path or a relative file: URL, relative to the pipeline file."""
        if "://" in url:
            return url
        p = url.removeprefix("file:")
        return "file://" + str((self.base / p).resolve())

    def _ref(self, path: tuple[str | int, ...], ref: str) -> Iterator[SpecIssue]:
        step, _, output = ref.partition(".")
        if step not in self.model.steps:
            yield self.issue(path, f"{ref!r}: no step {step!r}{self._known()}")
            return
        outs = self._outputs(step)
        if outs is None:
            return  # that step has its own error
        if not output and len(outs) != 1:
            yield self.issue(path, f"{ref!r}: step {step} gives {', '.join(outs) or 'nothing'}; "
                             f"name one as {step}.OUTPUT")
        elif output and output not in outs:
            yield self.issue(path, f"{ref!r}: step {step} gives {', '.join(outs) or 'nothing'}, not {output!r}")

    def _outputs(self, step: str) -> tuple[str, ...] | None:
        if step in self.outputs:
            return self.outputs[step]
        s = self.model.steps[step]
        given = [k for k in KINDS if getattr(s, k) is not None]
        if given == ["stage_in"]:
            return ("data",)
        if given == ["call"]:
            return tuple(s.outputs or ())
        if given == ["python"]:
            return ("result",)
        if given == ["compute"]:
            found = self._function(step, s)
            if found is None:
                return None
            every = output_names(found[2])
            self.outputs[step] = tuple(s.outputs) if s.outputs is not None else tuple(every)
            return self.outputs[step]
        return () if given == ["stage_out"] else None

    def _function(self, name: str, step: Step) -> tuple[Path, Any, Any] | None:
        if name in self.libs:
            return self.libs[name]
        spec, sep, function = (step.compute or "").rpartition("#")
        if not sep or not spec or not function:
            return None
        path = self.spec_path(spec)
        lib = self.spec(path)
        if isinstance(lib, SpecError):
            return None
        fn = lib.functions.get(function)
        if fn is None:
            return None
        self.libs[name] = (path, lib, fn)
        return self.libs[name]

    def _check_wiring(self, name: str, step: Step) -> Iterator[SpecIssue]:
        """What every step with inputs shares (compute, call, python): wires that name real outputs, no argument
        both wired and given or both swept and given, sweeps whose zip lists are of one length and not empty."""
        swept = _swept(step)
        for arg in step.inputs:
            if arg in step.params or arg in swept:
                yield self.issue(("steps", name, "inputs", arg), f"{arg} is wired and also given a value", key=True)
        for arg in swept:
            if arg in step.params:
                yield self.issue(("steps", name, "params", arg), f"{arg} is swept and also given a value", key=True)
        for arg, ref in step.inputs.items():
            yield from self._ref(("steps", name, "inputs", arg), ref)
        if step.sweep is not None:
            lengths = {len(v) for v in step.sweep.zip.values()}
            if len(lengths) > 1:
                yield self.issue(("steps", name, "sweep", "zip"), "the zip lists must be of one length; they are "
                                 + ", ".join(f"{k}: {len(v)}" for k, v in step.sweep.zip.items()))
            if any(not v for v in swept.values()):
                yield self.issue(("steps", name, "sweep"), "a swept parameter needs at least one value")

    def _check_call(self, name: str, step: Step) -> Iterator[SpecIssue]:
        here = ("steps", name, "call")
        yield from self._only(name, step, {"inputs", "params", "outputs", "sweep"})
        url, sep, op = (step.call or "").rpartition("#")
        if not sep or not op or not re.match(r"^https?://[^/\s]+/\S*$", url):
            yield self.issue(here, f"{step.call!r}: expected SERVICE_URL#OPERATION, e.g. "
                             "http://127.0.0.1:8080/heat#heat_step")
        if not step.outputs:
            yield self.issue(("steps", name), "a call step lists the outputs it keeps (outputs: [NAME, ...]): they "
                             "are known from the service's WSDL only when it is called")
        yield from self._check_wiring(name, step)

    def _check_python(self, name: str, step: Step) -> Iterator[SpecIssue]:
        from .expr import ExpressionError, names_of

        yield from self._only(name, step, {"inputs", "params", "sweep"})
        swept = _swept(step)
        try:
            used = names_of(step.python or "")
        except ExpressionError as exc:
            yield self.issue(("steps", name, "python"), str(exc))
            return
        given = set(step.inputs) | set(step.params) | set(swept)
        unknown = sorted(used - given)
        if unknown:
            yield self.issue(("steps", name, "python"), f"{', '.join(unknown)}: not an input, param or swept value of "
                             f"this step (it has {', '.join(sorted(given)) or 'none'}; np is numpy)")
        yield from self._check_wiring(name, step)

    def _check_compute(self, name: str, step: Step) -> Iterator[SpecIssue]:
        here = ("steps", name, "compute")
        yield from self._only(name, step, {"inputs", "params", "outputs", "sweep", "job", "service", "isolate"})
        spec, sep, function = step.compute.rpartition("#") if step.compute else ("", "", "")
        if not sep or not spec or not function:
            yield self.issue(here, f"{step.compute!r}: expected SPEC#FUNCTION, e.g. ../services/heat.yaml#heat_step")
            return
        lib = self.spec(self.spec_path(spec))
        if isinstance(lib, SpecError):
            yield self.issue(here, f"spec {spec}: {lib.issues[0]}"
                             + (f" (and {len(lib.issues) - 1} more)" if len(lib.issues) > 1 else ""))
            return
        fn = lib.functions.get(function)
        if fn is None:
            yield self.issue(here, f"{spec} has no function {function!r}; it has {', '.join(lib.functions)}")
            return
        if step.job is not None and step.service is not None:
            yield self.issue(("steps", name, "service"), "a step runs as a job or on a service, not both", key=True)
        req, opt = python_params(fn)
        takes = req + opt
        swept = _swept(step)
        for where, names in (("inputs", step.inputs), ("params", step.params), ("sweep", swept)):
            for arg in names:
                if arg not in takes:
                    yield self.issue(("steps", name, where, arg), f"{function} takes no argument {arg!r}; it takes "
                                     f"{', '.join(takes)}", key=True)
        yield from self._check_wiring(name, step)
        given = set(step.inputs) | set(step.params) | set(swept)
        missing = [a for a in req if a not in given]
        if missing:
            yield self.issue(here, f"{function} needs {', '.join(missing)} (as inputs or params)")
        every = output_names(fn)
        for i, out in enumerate(step.outputs or []):
            if out not in every:
                yield self.issue(("steps", name, "outputs", i), f"{function} gives {', '.join(every) or 'nothing'}, "
                                 f"not {out!r}")
        for field_ in ("job", "service"):
            url = getattr(step, field_)
            if url is not None and not re.match(r"^(fork|slurm|dask|https?)://", url):
                yield self.issue(("steps", name, field_), f"{url!r}: expected fork://, slurm://, dask://HOST:PORT "
                                 "or an http(s):// URL" if field_ == "job" else f"{url!r}: expected an http(s):// URL")

    # --- expansion ------------------------------------------------------------------------------------------
    def expand(self) -> Graph:
        steps = self.model.steps
        order = toposort({n: self._upstream_steps(s) for n, s in steps.items()})
        family: dict[str, str | None] = {}
        pts: dict[str, list[dict[str, Any]]] = {}
        nodes: dict[str, Node] = {}
        for name in order:
            step = steps[name]
            ups = self._upstream_steps(step)
            fams = list(dict.fromkeys(f for u in ups if (f := family[u]) is not None))
            if step.sweep is not None:
                if fams:
                    self.issues.append(self.issue(("steps", name, "sweep"), f"this step's inputs come from the "
                                                  f"sweep of {fams[0]}; a sweep of a sweep is not supported",
                                                  key=True))
                    continue
                family[name], pts[name] = name, points(step.sweep.product, step.sweep.zip)
            elif len(fams) > 1:
                self.issues.append(self.issue(("steps", name), f"this step combines the sweeps of "
                                              f"{' and '.join(fams)}; combine them in one step's sweep"))
                continue
            else:
                family[name] = fams[0] if fams else None
                pts[name] = pts[fams[0]] if fams else [{}]
            if len(nodes) + len(pts[name]) > MAX_NODES:
                self.issues.append(self.issue(("steps", name), f"more than {MAX_NODES} nodes; split the pipeline"))
                break
            urls: dict[str, int] = {}
            for i, point in enumerate(pts[name]):
                node = self._node(name, step, point, i, family, pts)
                if node is None:
                    break
                if node.kind == "stage_out":
                    if node.url in urls:
                        self.issues.append(self.issue(("steps", name, "to"), f"the sweep's points all go to "
                                                      f"{step.to!r}; name a swept value in it, e.g. "
                                                      f"{{{next(iter(point))}}}"))
                        break
                    urls[node.url or ""] = i
                nodes[node.name] = node
        children: dict[str, list[str]] = {n: [] for n in nodes}
        for node in nodes.values():
            for up in node.upstream:
                children[up].append(node.name)
        return Graph(self.model.pipeline, nodes, children)

    def _node(self, name: str, step: Step, point: dict[str, Any], i: int, family: dict[str, str | None],
              pts: dict[str, list[dict[str, Any]]]) -> Node | None:
        d = self.model.defaults

        def upstream(step_name: str) -> str:
            if family[step_name] is None:
                return step_name
            return label(step_name, pts[step_name][i])  # the same point of the same sweep

        def wire(arg: str, ref: str) -> Wire:
            s, _, out = ref.partition(".")
            return Wire(arg, upstream(s), out or self._outputs(s)[0])  # type: ignore[index]

        kind = kind_of(step)
        node = Node(label(name, point), name, kind, dict(point), retries=step.retries if step.retries is not None
                    else d.retries, verify=d.verify, after=tuple(upstream(a) for a in step.after))
        if kind == "stage_in":
            node.url, node.sha256 = self._absolute(step.stage_in or ""), step.sha256
        elif kind == "stage_out":
            unknown = [m for m in _PLACEHOLDER.findall(step.to or "") if m not in point]
            if unknown:
                self.issues.append(self.issue(("steps", name, "to"), f"{{{unknown[0]}}}: not a swept value of this "
                                              f"step ({', '.join(point) or 'it has none'})"))
                return None
            node.url = self._absolute(_PLACEHOLDER.sub(lambda m: str(point[m.group(1)]), step.to or ""))
            node.wires = (wire("data", step.stage_out or ""),)
        elif kind == "python":
            node.function = step.python
            node.params = {**step.params, **point}
            node.outputs = ("result",)
            node.wires = tuple(wire(a, r) for a, r in step.inputs.items())
            node.placement = "python"
        elif kind == "call":
            node.url, _, node.function = (step.call or "").rpartition("#")
            node.params = {**step.params, **point}
            node.outputs = tuple(step.outputs or ())
            node.wires = tuple(wire(a, r) for a, r in step.inputs.items())
            node.placement = f"call:{node.url}"
        else:
            spec, lib, fn = self.libs.get(name) or self._function(name, step)  # type: ignore[misc]
            node.spec, node.function, node.library = spec, (step.compute or "").rpartition("#")[2], lib
            node.params = {**step.params, **point}
            node.outputs = self._outputs(name) or ()
            node.wires = tuple(wire(a, r) for a, r in step.inputs.items())
            node.isolate = step.isolate
            job = step.job if "job" in step.model_fields_set else d.job  # job: null runs in-process
            node.placement = f"service:{step.service}" if step.service else f"job:{job}" if job else "local"
        return node
