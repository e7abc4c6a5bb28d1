"""`wrapgen run | plan | why | status | report`: a pipeline from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the pipeline commands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-f", "--file", dest="pipeline", default="pipeline.yaml", metavar="PIPELINE",
                        help="the pipeline file (default: pipeline.yaml)")
    common.add_argument("--state", default=None, metavar="DIR",
                        help="journal and content store (default: .wrapgen/<name> beside the pipeline file)")

    p = subparsers.add_parser("run", parents=[common], help="run a pipeline: what is up to date stays, what changed "
                              "runs, a killed run resumes")
    p.add_argument("file", nargs="?", default=None, metavar="PIPELINE", help="the pipeline file (or -f)")
    p.add_argument("-j", "--workers", type=int, default=None, metavar="N", help="steps at once (default: cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--otlp", default=None, metavar="URL", help="export the run's spans to this OTLP/HTTP endpoint "
                   "(default: $OTEL_EXPORTER_OTLP_ENDPOINT; needs wrapgen[otel])")
    p.set_defaults(func=_run)

    p = subparsers.add_parser("plan", parents=[common], help="show what a run would do now, and why")
    p.add_argument("file", nargs="?", default=None, metavar="PIPELINE", help="the pipeline file (or -f)")
    p.add_argument("-v", "--verbose", action="store_true", help="list cached steps too")
    p.set_defaults(func=_plan)

    p = subparsers.add_parser("why", parents=[common], help="why a step would run: its key against the last one")
    p.add_argument("step", metavar="STEP", help="a step, or one point of a sweep (heat[nsteps=10])")
    p.set_defaults(func=_why)

    p = subparsers.add_parser("status", parents=[common], help="a run's summary, failures and results table")
    p.add_argument("run", nargs="?", default=None, metavar="RUN", help="a run's guid (or its start; default: last)")
    p.add_argument("--json", action="store_true", help="machine-readable")
    p.set_defaults(func=_status)

    p = subparsers.add_parser("report", parents=[common], help="a run's lifelines, transfers and time breakdown as a "
                              "PNG, and a text summary")
    p.add_argument("run", nargs="?", default=None, metavar="RUN", help="a run's guid (or its start; default: last)")
    p.add_argument("-o", "--output", default=None, metavar="PNG", help="where to write (default: <state>/report.png)")
    p.add_argument("--otlp", default=None, metavar="URL", help="also export the run's spans to this OTLP/HTTP "
                   "endpoint (a killed run's too)")
    p.set_defaults(func=_report)


def _graph(args: argparse.Namespace) -> Any:
    from .load import load_pipeline

    return load_pipeline(getattr(args, "file", None) or args.pipeline)


def _run(args: argparse.Namespace) -> int:
    import signal

    from .engine import Engine, state_dir

    graph = _graph(args)
    engine = Engine(graph, state_dir(graph, args.state), args.workers, progress=not args.quiet and sys.stderr.isatty(),
                    otlp=args.otlp)
    got: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        # the first Ctrl-C or SIGTERM cancels the run (jobs cancelled, transfers aborted, the journal kept);
        # a second one ends the process at once
        got.append(signum)
        signal.signal(signum, signal.SIG_DFL)
        print(f"wrapgen run: {signal.Signals(signum).name}: cancelling (again to stop at once); run again to "
              "resume", file=sys.stderr)
        engine.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    result = engine.run()
    if not args.quiet:
        print(summary(result))
    if got:
        return 128 + got[0]
    return 0 if result.ok else 1


def summary(result: Any) -> str:
    """What a run did, in a few lines."""
    from .plan import BLOCKED

    c = result.counts()
    s = result.staging
    lines = [f"run {result.guid[:12]} of {result.pipeline}: {result.seconds:.2f} s; "
             + ", ".join(f"{v} {k}" for k, v in sorted(c.items()))]
    if result.cancelled:
        lines.append("cancelled: run the same command again to resume")
    elif not result.ran:
        lines.append("nothing to do: every step is up to date")
    if s["files"]:
        lines.append(f"staging: {s['files']} files, {s['bytes']} bytes, {s['verified']} verified (sha256), "
                     f"{s['mismatches']} mismatches, {s['retries']} retries")
    for r in result.nodes.values():
        if r.status == "failed":
            lines.append(f"FAILED {r.node} after {r.attempts} attempt(s): {r.cause}")
    blocked = [r.node for r in result.nodes.values() if r.status == BLOCKED]
    if blocked:
        lines.append(f"not run (a step they need failed): {', '.join(blocked[:10])}"
                     + (f" and {len(blocked) - 10} more" if len(blocked) > 10 else ""))
    lines.append(f"state {result.state}; log {result.log}")
    return "\n".join(lines)


def _plan(args: argparse.Namespace) -> int:
    from .engine import Engine, state_dir

    graph = _graph(args)
    planner = Engine(graph, state_dir(graph, args.state)).plan()
    counts = planner.counts()
    for name, d in planner.decisions.items():
        if d.status == "run":
            print(f"run      {name}: {'; '.join(d.reason)}")
        elif d.status == "waiting":
            print(f"waiting  {name}: runs only if the new outputs of {', '.join(_waits_for(planner, name))} differ "
                  "in content")
        elif args.verbose:
            print(f"cached   {name}")
    print(", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return 0


def _why(args: argparse.Namespace) -> int:
    from .engine import Engine, state_dir
    from .errors import PipelineError
    from .keys import diff

    graph = _graph(args)
    nodes = [n for n in graph.nodes if n == args.step] or [n.name for n in graph.of_step(args.step)]
    if not nodes:
        raise PipelineError(f"no step {args.step!r}; the steps are {', '.join(dict.fromkeys(n.step for n in graph.nodes.values()))}")
    engine = Engine(graph, state_dir(graph, args.state))
    planner = engine.plan()
    previous = engine.previous
    for name in nodes:
        d = planner.decisions[name]
        prev = previous.get(name)
        if d.status == "cached":
            print(f"{name}: up to date (key {d.key[:16] if d.key else '?'}, cached result of a run at "
                  f"{engine.result_time(d.key)})")
        elif d.status == "run":
            print(f"{name}: runs; key {prev[0][:16] if prev else '(none)'} -> {d.key[:16] if d.key else '?'}")
            for line in d.reason:
                print(f"  {line}")
        else:
            print(f"{name}: waits for {', '.join(_waits_for(planner, name))}; it runs only if their new outputs "
                  "differ in content")
            if prev:
                known = {k: v for k, v in prev[1].items() if k != "inputs"}
                for line in diff(known, {k: v for k, v in _partial(planner, name).items() if k in known}):
                    print(f"  {line}")
    return 0


def _waits_for(planner: Any, name: str) -> list[str]:
    """The nodes a waiting node waits for: those it needs that are not cached."""
    return [u for u in planner.graph.nodes[name].upstream if planner.decisions[u].status != "cached"]


def _partial(planner: Any, name: str) -> dict[str, Any]:
    """A waiting node's record without its inputs (which are not known yet)."""
    node = planner.graph.nodes[name]
    if node.kind != "compute":
        return {}
    from .keys import compute_record

    return compute_record(node, planner.static[name]["kernel"], {})


def _pick(journal: Any, run: str | None) -> dict[str, Any]:
    from .errors import PipelineError

    runs = journal.runs()
    if not runs:
        raise PipelineError("this pipeline has not run yet")
    if run is None:
        return runs[-1]
    found = [r for r in runs if r["guid"].startswith(run)]
    if len(found) != 1:
        raise PipelineError(f"run {run!r}: {'no such run' if not found else 'ambiguous'}; runs: "
                            + ", ".join(r["guid"][:12] for r in runs[-5:]))
    return found[0]


def _chosen(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any], list[dict[str, Any]]]:
    """The pipeline, its state directory, the run asked for (the last by default) and its failed attempts."""
    from .engine import state_dir
    from .journal import Journal

    from .errors import PipelineError

    graph = _graph(args)
    state = state_dir(graph, args.state)
    if not (state / "journal.db").exists():
        raise PipelineError(f"this pipeline has not run yet (no journal in {state})")
    journal = Journal(state / "journal.db")
    try:
        r = _pick(journal, args.run)
        failures = [a for a in journal.attempts(run=r["guid"]) if a["event"] == "failed"]
    finally:
        journal.close()
    return graph, state, r, failures


def _status(args: argparse.Namespace) -> int:
    from .engine import Engine

    graph, state, r, failures = _chosen(args)
    planner = Engine(graph, state).plan()
    rows = []
    for name, d in planner.decisions.items():
        n = graph.nodes[name]
        rows.append({"node": name, **n.point, "status": {"cached": "up to date"}.get(d.status, d.status),
                     **{k: v[:12] for k, v in planner.outputs.get(name, {}).items()}})
    if args.json:
        print(json.dumps({"run": r, "failures": failures, "table": rows}, indent=1))
        return 0
    summ = r["summary"] or {}
    print(f"run {r['guid']} ({r['status'] or 'did not end: killed?'}), pid {r['pid']}: {summ.get('counts', {})}")
    if summ.get("staging"):
        print(f"staging: {summ['staging']}")
    for a in failures:
        info = a["info"] or {}
        print(f"failed {a['node']} attempt {a['attempt']}{' (transient)' if info.get('transient') else ''}: "
              f"{info.get('cause')}")
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    if rows:
        table = Table(*dict.fromkeys(k for row in rows for k in row))
        cols = list(table.columns)
        for row in rows:
            table.add_row(*(escape(str(row.get(str(c.header), ""))) for c in cols))
        Console(width=max(100, Console().width)).print(table)
    return 0


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .report import render

    _, state, r, _ = _chosen(args)
    out = Path(args.output) if args.output else state / "report.png"
    log = state / "runs" / f"{r['guid']}.log"
    text = render(log, out)
    print(text)
    print(f"report: {out}")
    if args.otlp:
        from .otel import endpoint, export

        url = endpoint(args.otlp) or args.otlp
        print(f"spans: {export(log, url)} sent to {url}")
    return 0
