"""The editor in headless Chromium: opening a large pipeline, and how soon a step's new state reaches the canvas.

    python bench/editor.py [--nodes 200] [--chain 20] [--repeat 3]

- open: page load to every one of N nodes drawn with its state (the server plans the file and reads the journal
  first), cold (never run) and after a run (every node cached); the issue's goal is < 1 s for 200 nodes;
- latency: a chain of steps that each take 150 ms; for every step, the time from the `step.end` line the engine
  wrote to the run's log (right after the journal's result row) to the moment the page received the step's
  done-ran state (both on this machine's clock); the goal is < 200 ms.
No peer is run: ComfyUI, Galaxy and n8n are not installed here and publish no comparable figure (see
../shared/notes/editor.md). Printed, never asserted.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TALLY = ROOT / "tests" / "pipeline" / "kernels" / "tally.yaml"


def big(n: int) -> str:
    """n tally steps, each but the first ten fed by one of the ten before it."""
    lines = ["pipeline: big", "steps:"]
    for i in range(n):
        wire = f", inputs: {{x: s{i - 10 + i % 3}.result}}" if i >= 10 else ""
        lines.append(f"  s{i}: {{compute: 'tally.yaml#tally', params: {{i: {i}}}{wire}}}")
    return "\n".join(lines) + "\n"


def chain(n: int, ms: int) -> str:
    lines = ["pipeline: chain", "steps:"]
    for i in range(n):
        wire = f", inputs: {{x: c{i - 1}.result}}" if i else ""
        lines.append(f"  c{i}: {{compute: 'tally.yaml#tally', params: {{i: {i}, ms: {ms}}}{wire}}}")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--chain", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from wrapgen import netlogger
    from wrapgen.web.api import Editor
    from wrapgen.web.server import EditorServer

    work = Path(tempfile.mkdtemp(prefix="wrapgen-bench-editor-"))
    try:
        (work / "tally.yaml").symlink_to(TALLY)
        p = work / "big.yaml"
        p.write_text(big(args.nodes))
        q = work / "chain.yaml"
        q.write_text(chain(args.chain, 150))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])

            def open_(url: str, n: int) -> float:
                ctx = browser.new_context(bypass_csp=True, viewport={"width": 1400, "height": 820})
                page = ctx.new_page()
                t = time.perf_counter()
                page.goto(url)
                page.wait_for_function(f"window.wg && wg.ready && wg.graph._nodes.length === {n} && "
                                       f"Object.keys(wg.states).length === {n}", timeout=60_000, polling=5)
                dt = time.perf_counter() - t
                ctx.close()
                return dt

            t = time.perf_counter()
            editor = Editor(p)
            plan_s = time.perf_counter() - t
            with EditorServer(editor) as srv:
                cold = [open_(srv.url, args.nodes) for _ in range(args.repeat)]
                from wrapgen.pipeline.engine import run

                run(p)
                srv.editor.refresh()
                warm = [open_(srv.url, args.nodes) for _ in range(args.repeat)]
            print(f"the server opens {args.nodes} nodes (check, plan, journal): {plan_s * 1000:.0f} ms")
            print(f"open {args.nodes} nodes, never run: median {statistics.median(cold) * 1000:.0f} ms "
                  f"(runs {', '.join(f'{x * 1000:.0f}' for x in cold)}; goal < 1000 ms)")
            print(f"open {args.nodes} nodes, all cached: median {statistics.median(warm) * 1000:.0f} ms "
                  f"(runs {', '.join(f'{x * 1000:.0f}' for x in warm)}; goal < 1000 ms)")

            with EditorServer(Editor(q)) as srv:
                ctx = browser.new_context(bypass_csp=True)
                page = ctx.new_page()
                page.goto(srv.url)
                page.wait_for_function("window.wg && wg.ready && wg.events > 0")
                page.click("#run")
                last = f"c{args.chain - 1}"
                page.wait_for_function(f"wg.seen['{last}:done-ran']", timeout=120_000)
                seen = page.evaluate("wg.seen")
                ctx.close()
            logs = sorted((work / ".wrapgen" / "chain" / "runs").glob("*.log"))
            ends = {e["node"]: netlogger.parse_timestamp(e["ts"]) for e in netlogger.read(logs[-1])
                    if e["event"] == "wrapgen.pipeline.step.end" and e.get("status") == "0"}
            lat = [seen[f"{n}:done-ran"] / 1000 - t for n, t in ends.items() if f"{n}:done-ran" in seen]
            lat_ms = sorted(x * 1000 for x in lat)
            print(f"state latency, {len(lat_ms)} steps: median {statistics.median(lat_ms):.0f} ms, "
                  f"max {max(lat_ms):.0f} ms (goal < 200 ms)")
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
