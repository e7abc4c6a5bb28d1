"""`wrapgen report`: a run's NetLogger log as a PNG (lifelines of every step -- transfer in, queue, compute,
transfer out -- a per-transfer throughput plot and a time breakdown) and a Pegasus-statistics-style text summary.
Everything comes from the log alone, so a killed run is reported as far as it got."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..netlogger import parse_timestamp, read

PHASES = {"stage_in": "#4c72b0", "queue": "#c9c9c9", "compute": "#55a868", "stage_out": "#dd8452",
          "failed": "#c44e52"}
MAX_ROWS = 60


def spans(path: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The log's step spans (node, kind, start, end, status, attempt, queue) and the run's own fields."""
    opened: dict[tuple[str, str], dict[str, str]] = {}
    out: list[dict[str, Any]] = []
    run: dict[str, Any] = {"unfinished": []}
    jobs: dict[str, dict[str, float]] = defaultdict(dict)
    transfers: list[dict[str, Any]] = []
    topen: dict[str, dict[str, str]] = {}
    for ev in read(path):
        name, t = ev.get("event", ""), parse_timestamp(ev.get("ts", "0"))
        ev["t"] = t
        if name == "wrapgen.pipeline.run.start":
            run["start"], run["pipeline"] = t, ev.get("pipeline")
        elif name == "wrapgen.pipeline.run.end":
            run["end"], run["status"] = t, int(ev.get("status", "0"))
            run["counts"] = {k[2:]: int(v) for k, v in ev.items() if k.startswith("n.")}
        elif name == "wrapgen.pipeline.step.start":
            opened[(ev.get("node", ""), ev.get("attempt", ""))] = ev
        elif name == "wrapgen.pipeline.step.end":
            st = opened.pop((ev.get("node", ""), ev.get("attempt", "")), None)
            if st is not None:
                out.append({"node": ev.get("node"), "kind": st.get("kind"), "start": st["t"], "end": t,
                            "status": int(ev.get("status", "0")), "attempt": int(ev.get("attempt", "1")),
                            "placement": st.get("placement"), "msg": ev.get("msg", "")})
        elif name == "wrapgen.pipeline.transfer.start":
            topen[ev.get("node", "")] = ev
        elif name == "wrapgen.pipeline.transfer.end":
            st = topen.pop(ev.get("node", ""), None)
            if st is not None and ev.get("bytes"):
                transfers.append({"node": ev.get("node"), "bytes": int(ev["bytes"]), "start": st["t"], "end": t,
                                  "direction": st.get("direction")})
        elif name.startswith("wrapgen.pipeline.job.state"):
            jobs[ev.get("node", "")][ev.get("state", "")] = t
    run["unfinished"] = [ev.get("node") for ev in opened.values()]  # a .start with no .end: killed mid-step
    for s in out:
        j = jobs.get(s["node"] or "")
        if j and "ACTIVE" in j:
            s["queue"] = (j.get("PENDING", s["start"]), j["ACTIVE"])
    run["transfers"] = transfers
    return out, run


def text_summary(steps: list[dict[str, Any]], run: dict[str, Any]) -> str:
    """Pegasus-statistics style: wall time, per kind counts and seconds, retries, failures, transfers."""
    wall = (run.get("end") or max((s["end"] for s in steps), default=run.get("start", 0))) - run.get("start", 0)
    lines = [f"pipeline {run.get('pipeline')}: wall {wall:.2f} s"
             + ("" if "end" in run else " (the run did not end: killed?)"),
             f"{'kind':<10} {'runs':>6} {'failed':>7} {'retried':>8} {'seconds':>10} {'mean s':>8}"]
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in steps:
        by[s["kind"] or "?"].append(s)
    for kind, ss in sorted(by.items()):
        secs = sum(s["end"] - s["start"] for s in ss)
        lines.append(f"{kind:<10} {len(ss):>6} {sum(s['status'] < 0 for s in ss):>7} "
                     f"{sum(s['attempt'] > 1 for s in ss):>8} {secs:>10.3f} {secs / len(ss):>8.4f}")
    counts = run.get("counts") or {}
    if counts:
        lines.append("nodes: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    tr = run.get("transfers") or []
    if tr:
        b = sum(t["bytes"] for t in tr)
        secs = sum(t["end"] - t["start"] for t in tr)
        lines.append(f"transfers: {len(tr)}, {b} bytes, {b / max(secs, 1e-9) / 1e6:.1f} MB/s while moving")
    if run.get("unfinished"):
        lines.append(f"steps started and never ended (killed): {', '.join(map(str, run['unfinished']))}")
    return "\n".join(lines)


def render(log: str | os.PathLike[str], png: str | os.PathLike[str]) -> str:
    """Write the run's PNG; the text summary."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, run = spans(log)
    t0 = run.get("start") or min((s["start"] for s in steps), default=0.0)
    fig, (gantt, thr, brk) = plt.subplots(3, 1, figsize=(11, 9), gridspec_kw={"height_ratios": [3, 1, 1]})
    nodes = list(dict.fromkeys(s["node"] for s in steps))[:MAX_ROWS]
    row = {n: i for i, n in enumerate(nodes)}
    for s in steps:
        if s["node"] not in row:
            continue
        y = row[s["node"]]
        color = PHASES["failed"] if s["status"] < 0 else PHASES.get(s["kind"], "#8172b2")
        start = s["start"]
        if "queue" in s:
            q0, q1 = s["queue"]
            gantt.barh(y, q1 - q0, left=q0 - t0, color=PHASES["queue"], height=0.8)
            start = q1
        gantt.barh(y, max(s["end"] - start, 1e-4), left=start - t0, color=color, height=0.8)
    gantt.set_yticks(range(len(nodes)), nodes, fontsize=7 if len(nodes) > 20 else 9)
    gantt.invert_yaxis()
    gantt.set_xlabel("seconds since the run started")
    gantt.set_title(f"{run.get('pipeline')}: step lifelines"
                    + (f" (first {MAX_ROWS} of {len(set(s['node'] for s in steps))})" if len(nodes) == MAX_ROWS else ""))
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in PHASES.values()]
    gantt.legend(handles, list(PHASES), fontsize=8, loc="lower right")
    tr = run.get("transfers") or []
    if tr:
        thr.scatter([t["bytes"] for t in tr], [t["bytes"] / max(t["end"] - t["start"], 1e-9) / 1e6 for t in tr],
                    c=["#4c72b0" if t["direction"] == "in" else "#dd8452" for t in tr], s=14)
        thr.set_xscale("log")
    thr.set_xlabel("bytes per transfer")
    thr.set_ylabel("MB/s")
    thr.set_title("transfers (blue: in, orange: out)")
    by: dict[str, float] = defaultdict(float)
    for s in steps:
        by[s["kind"] or "?"] += s["end"] - s["start"]
    if by:
        brk.barh(list(by), list(by.values()), color=[PHASES.get(k, "#8172b2") for k in by])
    brk.set_xlabel("seconds spent (summed over steps)")
    brk.set_title("time breakdown")
    fig.tight_layout()
    Path(png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return text_summary(steps, run)
