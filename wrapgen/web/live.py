"""Node states for the canvas (sans-IO): what the planner and the journal say when no run is going on, and the
run's BP log events folded into states while one is. The editor owns no execution state: everything here is
recomputed from the pipeline's state directory, so a restarted editor shows the truth."""

from __future__ import annotations

from collections import Counter
from typing import Any

EVENT = "wrapgen.pipeline"

STALE, QUEUED, STAGING_IN, RUNNING, STAGING_OUT, VERIFYING = \
    "stale", "queued", "staging-in", "running", "staging-out", "verifying"
DONE_RAN, DONE_CACHED, CUTOFF, FAILED = "done-ran", "done-cached", "skipped-by-early-cutoff", "failed"
#: which state a sweep step shows when its points differ (the first one any point has)
PRECEDENCE = (FAILED, RUNNING, STAGING_IN, STAGING_OUT, VERIFYING, QUEUED, STALE, DONE_RAN, CUTOFF, DONE_CACHED)
TAIL = 1200  # characters of stderr shown on a failed node


def idle(graph: Any, decisions: dict[str, Any] | None, last_run: dict[str, Any] | None,
         attempts: list[dict[str, Any]], cutoff: set[str], unfinished: frozenset[str] | set[str] = frozenset()
         ) -> dict[str, dict[str, Any]]:
    """Every node's state between runs: cached nodes are done-ran if the last run made them, skipped by early
    cutoff if it found them so, else done-cached; a node that must run is failed if the last run's last word on
    it was a failure, else stale (saying so when the last run was killed while making it). decisions: the
    planner's (None when the file does not check)."""
    ran = {a["node"] for a in attempts if a["event"] == "done"}
    last_failure: dict[str, dict[str, Any]] = {}
    for a in attempts:
        if a["event"] == "failed":
            last_failure[a["node"]] = a
        elif a["event"] in ("done", "started"):
            last_failure.pop(a["node"], None) if a["event"] == "done" else None
    out: dict[str, dict[str, Any]] = {}
    for name in graph.nodes:
        d = decisions.get(name) if decisions else None
        status = getattr(d, "status", None)
        if status == "cached":
            state = DONE_RAN if name in ran else CUTOFF if name in cutoff else DONE_CACHED
            out[name] = {"state": state}
        elif name in last_failure and last_run is not None and d is not None and last_failure[name]["key"] == d.key:
            info = last_failure[name].get("info") or {}
            out[name] = {"state": FAILED, "detail": info.get("cause", ""), "stderr": (info.get("stderr") or "")[-TAIL:]}
        elif name in unfinished:
            out[name] = {"state": STALE, "detail": "its last run did not finish (the run was killed mid-step)"}
        else:
            out[name] = {"state": STALE, "detail": "; ".join(getattr(d, "reason", None) or [])}
    return out


class Fold:
    """A run's BP log events folded into node states (start from idle() before the run)."""

    def __init__(self, states: dict[str, dict[str, Any]], placements: dict[str, str]) -> None:
        self.states = states
        self.placements = placements
        self.transfers: dict[str, dict[str, Any]] = {}  # node -> {bytes, seconds, rate}
        self.ended = False

    def _set(self, node: str, state: str, **extra: Any) -> bool:
        if node not in self.states:
            return False
        self.states[node] = {"state": state, **extra}
        return True

    def apply(self, e: dict[str, str]) -> set[str]:
        """Fold one event; the nodes whose state changed."""
        ev, node = e.get("event", ""), e.get("node", "")
        if not ev.startswith(EVENT):
            return set()
        ev = ev[len(EVENT) + 1:]
        if ev == "step.start":
            kind = e.get("kind", "")
            state = STAGING_IN if kind == "stage_in" else STAGING_OUT if kind == "stage_out" else \
                QUEUED if self.placements.get(node, "").startswith("job:") else RUNNING
            return {node} if self._set(node, state, attempt=int(e.get("attempt", "1"))) else set()
        if ev in ("job.submitted", "job.attached"):
            return {node} if self._set(node, RUNNING, detail=f"job {e.get('native', '')}") else set()
        if ev == "transfer.progress" and self.states.get(node, {}).get("state") in (STAGING_IN, STAGING_OUT):
            n, s = int(e.get("bytes", "0") or 0), float(e.get("seconds", "0") or 0)
            self.states[node]["transfer"] = {"bytes": n, "seconds": s, "rate": n / s if s > 0 else 0.0}
            return {node}
        if ev == "verify":
            return {node} if self._set(node, VERIFYING, detail="comparing sha256 with the other side") else set()
        if ev == "transfer.end" and e.get("status") == "0":
            n, s = int(e.get("bytes", "0") or 0), float(e.get("seconds", "0") or 0)
            self.transfers[node] = {"bytes": n, "seconds": s, "rate": n / s if s > 0 else 0.0}
            self.states.get(node, {})["transfer"] = self.transfers[node]
            return {node} if node in self.states else set()
        if ev == "step.end":
            if e.get("status") == "0":
                extra = {"seconds": float(e.get("seconds", "0") or 0)}
                if node in self.transfers:
                    extra["transfer"] = self.transfers[node]
                return {node} if self._set(node, DONE_RAN, **extra) else set()
            return {node} if self._set(node, FAILED, detail=e.get("msg", "")) else set()
        if ev == "retry":
            return {node} if self._set(node, QUEUED, detail=f"retrying: {e.get('msg', '')}") else set()
        if ev == "cutoff":
            return {node} if self._set(node, CUTOFF, detail=f"{e.get('after', '')} gave the same bytes") else set()
        if ev == "run.end":
            self.ended = True
        return set()


def by_step(graph: Any, states: dict[str, dict[str, Any]], steps: set[str] | None = None) -> dict[str, Any]:
    """What each step's node on the canvas shows: its state (the first of PRECEDENCE among its points), the
    points' counts, and the details of the one shown."""
    groups: dict[str, list[str]] = {}
    for name, node in graph.nodes.items():
        if steps is None or node.step in steps:
            groups.setdefault(node.step, []).append(name)
    out: dict[str, Any] = {}
    rank = {s: i for i, s in enumerate(PRECEDENCE)}
    for step, names in groups.items():
        shown = min(names, key=lambda n: rank.get(states.get(n, {}).get("state", STALE), 99))
        info = dict(states.get(shown, {"state": STALE}))
        info["points"] = len(names)
        info["counts"] = dict(Counter(states.get(n, {}).get("state", STALE) for n in names))
        if len(names) > 1:
            info["failed_points"] = [n for n in names if states.get(n, {}).get("state") == FAILED]
        out[step] = info
    return out
