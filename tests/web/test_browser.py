"""The editor in a real browser (Debian's Chromium through Playwright), against a real editor server, real kernels
and a real WS-RF service: build by dragging, typed links refused with the reason, run, edit, early cutoff, a
killed server, a service added by its WSDL URL, undo/redo and the keyboard."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import yaml

from .conftest import KERNELS, Page, shot, write
from .test_ports import TABLE

CHAIN = """\
pipeline: chain
steps:
  a: {compute: 'tally.yaml#tally', params: {i: 1}}
  b: {compute: 'tally.yaml#tally', inputs: {x: a.result}, params: {i: 2}}
  c: {compute: 'tally.yaml#tally', inputs: {x: b.result}, params: {i: 3}}
  d: {compute: 'tally.yaml#tally', params: {i: 4}}
"""


def drag_link(page: Page, src: str, output: str, dst: str, input_: str) -> None:
    """Drag with the mouse from src's output slot to dst's input slot."""
    p = page.page
    (x0, y0), (x1, y1) = p.evaluate(f"[wg.slotScreen({src!r}, false, {output!r}), "
                                    f"wg.slotScreen({dst!r}, true, {input_!r})]")
    p.mouse.move(x0, y0)
    p.mouse.down()
    p.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
    p.mouse.move(x1, y1, steps=5)
    p.mouse.up()


def select(page: Page, step: str) -> None:
    """Click a node's title: the side panel shows it."""
    x, y = page.page.evaluate(f"wg.titleScreen({step!r})")
    page.page.mouse.click(x, y)
    page.page.wait_for_function(f"document.getElementById('ptitle').textContent.startsWith({step + ' ' !r})")


def set_param(page: Page, step: str, name: str, value: str) -> None:
    """Type a parameter's new value in the side panel."""
    select(page, step)
    field = page.page.locator(f"#f-{name}")
    field.fill(value)
    field.press("Enter")
    field.blur()


def saved(path, predicate, timeout: float = 10.0) -> dict:
    """The pipeline file once predicate(its YAML) holds (the page saves a moment after an edit)."""
    deadline = time.monotonic() + timeout
    while True:
        doc = yaml.safe_load(path.read_text()) if path.exists() else None
        if doc is not None and predicate(doc):
            return doc
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never satisfied the check; it is:\n{path.read_text() if path.exists() else '(none)'}")
        time.sleep(0.05)


def test_loads_clean_and_its_link_rule_is_the_servers(workdir, open_editor) -> None:
    p = write(workdir / "p.yaml", CHAIN)
    _, page = open_editor(p)
    assert page.errors == []
    assert page.page.evaluate("wg.graph._nodes.length") == 4 and page.page.evaluate(
        "Object.keys(wg.graph.links).length") == 2
    got = page.page.evaluate("(t) => t.map(([o, i]) => wg.mismatch(o, i))", [[o, i] for o, i, _ in TABLE])
    assert got == [why for _, _, why in TABLE]
    assert {s: page.state(s) for s in "abcd"} == dict.fromkeys("abcd", "stale")


def test_build_by_dragging_and_a_wrong_link_is_refused_with_its_reason(workdir, open_editor) -> None:
    p = workdir / "new.yaml"  # no file yet: the first edit makes it
    _, page = open_editor(p)
    pg = page.page
    pg.drag_and_drop('.ptype[data-type="compute:heat.yaml#heat_step"]', "#canvas", target_position={"x": 150, "y": 150})
    pg.drag_and_drop('.ptype[data-type="stage_out"]', "#canvas", target_position={"x": 550, "y": 150})
    pg.drag_and_drop('.ptype[data-type="compute:tally.yaml#tally"]', "#canvas", target_position={"x": 550, "y": 450})
    pg.wait_for_function("wg.graph._nodes.length === 3")
    assert pg.evaluate("wg.graph._nodes.map(n => n.properties.name).sort()") == ["heat_step", "stage_out", "tally"]
    drag_link(page, "heat_step", "u", "stage_out", "data")
    pg.wait_for_function("Object.keys(wg.graph.links).length === 1")
    drag_link(page, "heat_step", "u", "tally", "i")  # float64[:,:] into an int32
    pg.wait_for_function("document.getElementById('toast').textContent.includes('dtype differs')")
    assert pg.inner_text("#toast") == "link refused: float64[:,:] → int32: dtype differs"
    assert pg.evaluate("Object.keys(wg.graph.links).length") == 1
    set_param(page, "stage_out", "to", "out.npy")
    doc = saved(p, lambda d: d["steps"].get("stage_out", {}).get("to") == "out.npy")
    assert doc["steps"]["stage_out"]["stage_out"] == "heat_step.u"
    assert doc["steps"]["heat_step"]["compute"] == "heat.yaml#heat_step"
    assert set(doc["layout"]) == {"heat_step", "stage_out", "tally"}
    # the file's problems are shown on the nodes they concern, with the CLI's words
    pg.wait_for_function("wg.problems.some(p => p.step === 'heat_step' && p.message.includes('needs u'))")
    assert "new.yaml:" in pg.inner_text("#problems")
    assert page.errors == []


def test_run_edit_rerun_and_early_cutoff(workdir, tally, open_editor) -> None:
    p = write(workdir / "p.yaml", CHAIN)
    _, page = open_editor(p)
    page.page.click("#run")
    for s in "abcd":
        page.wait_state(s, "done-ran")
    assert tally.counts() == {1: 1, 2: 1, 3: 1, 4: 1}
    shot(page, "editor-run.png")
    # ms changes b's key but not its result: b and what follows it turn stale, nothing else
    set_param(page, "b", "ms", "1")
    saved(p, lambda d: d["steps"]["b"]["params"].get("ms") == 1)
    page.wait_state("b", "stale")
    page.wait_state("c", "stale")
    time.sleep(0.5)  # the server's own plan of the saved file has come back by now
    assert (page.state("a"), page.state("d")) == ("done-ran", "done-ran")
    assert "params.ms" in page.page.evaluate("wg.states.b.detail")
    page.page.wait_for_function("wg.running === false")
    page.page.keyboard.press("Control+Enter")  # Run, from the keyboard
    page.wait_state("b", "done-ran")
    page.wait_state("c", "skipped-by-early-cutoff")  # b gave the same bytes: c stays as it was
    page.wait_state("a", "done-cached")
    assert tally.counts() == {1: 1, 2: 2, 3: 1, 4: 1}
    # a real change reaches c
    set_param(page, "b", "i", "5")
    page.wait_state("c", "stale")
    page.page.wait_for_function("wg.running === false")
    page.page.click("#run")
    page.wait_state("c", "done-ran")
    assert tally.counts() == {1: 1, 2: 2, 3: 2, 4: 1, 5: 1}
    # rerun from here: b and c run again though nothing changed
    page.page.wait_for_function("wg.running === false")  # the last run's thread has ended: a new one may start
    select(page, "b")
    before = page.page.inner_text("#message")
    page.page.click("#f-rerun")
    page.page.wait_for_function(f"wg.running === false && document.getElementById('message').textContent !== "
                                f"{before!r} && document.getElementById('message').textContent.startsWith('run ')",
                                timeout=60_000)
    assert (page.state("a"), page.state("b"), page.state("c")) == ("done-cached", "done-ran", "done-ran")
    assert tally.counts()[5] == 2 and tally.counts()[1] == 1
    assert page.errors == []


def _editor_process(p, token: str) -> tuple[subprocess.Popen, int]:
    """`wrapgen editor` in its own process on a port it picks (--port 0: no race for a free one); (it, its port)."""
    proc = subprocess.Popen([sys.executable, "-m", "wrapgen", "editor", str(p), "--port", "0", "--token", token],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert "wrapgen editor:" in line and m, line
    return proc, int(m.group(1))


def test_a_killed_server_restarts_to_the_true_state_and_resumes(workdir, tally, chromium) -> None:
    p = write(workdir / "p.yaml", CHAIN.replace("params: {i: 2}", "params: {i: 2, ms: 4000}"))
    token = "t0ken-for-the-test"
    proc, port = _editor_process(p, token)
    try:
        page = Page(chromium, f"http://127.0.0.1:{port}/?token={token}")
        page.page.click("#run")
        page.wait_state("b", "running")
        page.wait_state("a", "done-ran")
        os.kill(proc.pid, signal.SIGKILL)  # mid-run, the kernel call inside it
        proc.wait()
        page.close()
        assert tally.counts()[2] == 1 and 3 not in tally.counts()
    finally:
        if proc.poll() is None:
            proc.kill()
    proc, port = _editor_process(p, token)
    try:
        page = Page(chromium, f"http://127.0.0.1:{port}/?token={token}")
        assert page.state("a") == "done-ran"  # made by the killed run
        assert page.state("d") == "done-ran"
        assert (page.state("b"), page.state("c")) == ("stale", "stale")
        assert "did not finish" in page.page.evaluate("wg.states.b.detail")
        page.page.click("#run")
        page.wait_state("c", "done-ran", timeout=90_000)
        assert tally.counts() == {1: 1, 2: 2, 3: 1, 4: 1}  # finished nodes were not done again
        assert page.state("a") == "done-cached"
        assert page.errors == []
        page.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_a_service_added_by_its_wsdl_url_runs_as_a_node(workdir, tally, open_editor, tmp_path) -> None:
    import numpy as np

    from wrapgen.pipeline.engine import run
    from wrapgen.wsrf.server import Server

    np.save(workdir / "a.npy", np.arange(5.0))
    p = write(workdir / "p.yaml", "pipeline: remote\nsteps:\n  load: {stage_in: a.npy}\n")
    with Server([KERNELS / "tally.yaml"], state=tmp_path / "wsrf.db", workers=1) as srv:
        url = f"{srv.url}/tally"
        _, page = open_editor(p)
        pg = page.page
        pg.fill("#wsdl", "http://127.0.0.1:1/nothing")
        pg.click("#addservice button")
        pg.wait_for_function("document.getElementById('toast').textContent.includes('cannot fetch the WSDL')")
        pg.fill("#wsdl", url)
        pg.click("#addservice button")
        sel = f'.ptype[data-type="call:{url}#scale"]'
        pg.wait_for_selector(sel)
        assert "a: any[...]" in pg.inner_text(sel)
        pg.drag_and_drop(sel, "#canvas", target_position={"x": 500, "y": 200})
        pg.wait_for_function("wg.graph._nodes.length === 2")
        drag_link(page, "load", "data", "scale", "a")
        set_param(page, "scale", "factor", "2.5")
        doc = saved(p, lambda d: d["steps"].get("scale", {}).get("params", {}).get("factor") == 2.5
                    and "inputs" in d["steps"]["scale"])
        assert doc["steps"]["scale"]["call"] == f"{url}#scale" and doc["steps"]["scale"]["outputs"] == ["out"]
        pg.click("#run")
        page.wait_state("scale", "done-ran")
        r = run(p)
        assert r.ran == []
        np.testing.assert_array_equal(np.load(r.output("scale", "out")), np.arange(5.0) * 2.5)
        assert [e for e in page.errors if "status of 400" not in e] == []  # the bad URL's answer, and nothing else


def test_undo_redo_copy_paste_layout_and_fit(workdir, open_editor) -> None:
    p = write(workdir / "p.yaml", CHAIN)
    _, page = open_editor(p)
    pg = page.page
    pg.drag_and_drop('.ptype[data-type="compute:tally.yaml#tally"]', "#canvas", target_position={"x": 300, "y": 600})
    saved(p, lambda d: "tally" in d["steps"])
    pg.locator("#canvas").click(position={"x": 5, "y": 5})  # focus the canvas, not a field
    pg.keyboard.press("Control+z")
    saved(p, lambda d: "tally" not in d["steps"] and len(d["steps"]) == 4)
    pg.keyboard.press("Control+y")
    saved(p, lambda d: "tally" in d["steps"])
    select(page, "a")
    pg.keyboard.press("Control+c")
    pg.mouse.move(700, 650)
    pg.keyboard.press("Control+v")
    doc = saved(p, lambda d: "a_2" in d["steps"])  # a pasted copy gets a name of its own, with a's parameters
    assert doc["steps"]["a_2"]["params"] == {"i": 1}
    before = pg.evaluate("wg.toDoc().nodes.map(n => n.pos)")
    pg.click("#layout")
    pg.wait_for_function(f"JSON.stringify(wg.toDoc().nodes.map(n => n.pos)) !== {json.dumps(json.dumps(before))}")
    pg.click("#fit")
    assert pg.evaluate("wg.canvas.ds.scale") > 0
    pg.click("#textview")
    pg.wait_for_function("document.getElementById('yaml').value.includes('a_2:')")  # the layout's save came back
    assert re.search(r"a_2:\n\s+compute: tally.yaml#tally", pg.input_value("#yaml"))
    assert page.errors == []


SWEEP = """\
pipeline: heat
steps:
  field: {stage_in: u.npy}
  heat:
    compute: heat.yaml#heat_step
    inputs: {u: field.data}
    params: {alpha: 0.2, dx: 1.0}
    sweep: {product: {nsteps: [10, 50], dt: [1.0, 2.0]}}
    outputs: [u]
    job: fork://
  save: {stage_out: heat.u, to: 'out/u-{nsteps}-{dt}.npy'}
"""


def test_a_sweep_reruns_its_failed_points_then_runs_whole(workdir, open_editor) -> None:
    import numpy as np

    from wrapgen import netlogger

    u = np.zeros((24, 24))
    u[12, 12] = 100.0
    np.save(workdir / "u.npy", u)
    p = write(workdir / "p.yaml", SWEEP)  # dt = 2 is unstable at alpha = 0.2: half the points fail
    server, page = open_editor(p)
    page.page.click("#run")
    page.wait_state("heat", "failed", timeout=120_000)
    page.page.wait_for_function("wg.running === false", timeout=120_000)
    heat = page.page.evaluate("wg.states.heat")
    assert heat["counts"] == {"failed": 2, "done-ran": 2} and len(heat["failed_points"]) == 2
    moved = page.page.evaluate("wg.states.field.transfer")  # the stage-in's bytes stay on its node
    assert moved["bytes"] == (workdir / "u.npy").stat().st_size and moved["rate"] > 0
    assert "unstable" in heat["detail"]
    select(page, "heat")
    assert "unstable" in page.page.inner_text("#pbody")  # the failure's cause, on the node's panel
    runs = sorted((p.parent / ".wrapgen" / "heat" / "runs").glob("*.log"), key=lambda f: f.stat().st_mtime)
    page.page.click("#f-rerunfailed")
    page.page.wait_for_function(f"wg.running === false && wg.events > {page.page.evaluate('wg.events')}",
                                timeout=120_000)
    page.page.wait_for_function("wg.states.heat.state === 'failed'")
    new = [f for f in (p.parent / ".wrapgen" / "heat" / "runs").glob("*.log") if f not in runs]
    assert len(new) == 1
    started = {e["node"] for e in netlogger.read(new[0]) if e["event"] == "wrapgen.pipeline.step.start"}
    assert started == set(heat["failed_points"])  # the failed points only: not the good ones, not the stage-in
    # a stable dt for every point: the step and its stage-outs run; the picture the README shows
    set_param(page, "heat", "sweep", json.dumps({"product": {"nsteps": [10, 50], "dt": [0.5, 1.0]}}))
    page.wait_state("heat", "stale")
    page.page.click("#run")
    page.wait_state("save", "done-ran", timeout=120_000)
    page.page.wait_for_function("wg.running === false && wg.states.heat.state !== 'running'", timeout=120_000)
    # dt = 1.0 was run already (and kept a float through the page's JSON): those points and their files stay
    assert page.page.evaluate("wg.states.heat.counts") == {"done-ran": 2, "done-cached": 2}
    assert sorted(f.name for f in (workdir / "out").iterdir()) == [
        "u-10-0.5.npy", "u-10-1.0.npy", "u-50-0.5.npy", "u-50-1.0.npy"]
    assert page.page.evaluate("wg.states.field.state") in ("done-cached", "done-ran")
    page.page.click("#fit")
    select(page, "heat")
    shot(page, "editor.png")
    assert page.errors == []


def test_a_local_code_node_and_a_placement_change(workdir, tally, open_editor) -> None:
    p = write(workdir / "p.yaml", "pipeline: code\nsteps:\n  a: {compute: 'tally.yaml#tally', params: {i: 1, x: 0.5}}\n")
    _, page = open_editor(p)
    pg = page.page
    pg.drag_and_drop('.ptype[data-type="python"]', "#canvas", target_position={"x": 500, "y": 200})
    pg.wait_for_function("wg.graph._nodes.length === 2")
    select(page, "python")
    pg.locator("#f-inputs").fill("t")
    pg.locator("#f-inputs").press("Enter")
    pg.wait_for_function("wg.nodeByName('python').inputs.length === 1")
    drag_link(page, "a", "result", "python", "t")
    set_param(page, "python", "python", "t * 4")
    doc = saved(p, lambda d: d["steps"].get("python", {}).get("python") == "t * 4"
                and d["steps"]["python"].get("inputs") == {"t": "a.result"})
    assert "params" not in doc["steps"]["python"]
    pg.click("#run")
    page.wait_state("python", "done-ran")
    from wrapgen.pipeline.engine import run

    r = run(p)
    assert r.ran == [] and json.loads(r.output("python", "result").read_text()) == 6.0
    # where a step runs is not part of its key: a new placement keeps it done, and the file says where
    select(page, "a")
    pg.select_option("#f-placement", "job")
    saved(p, lambda d: d["steps"]["a"].get("job") == "fork://")
    time.sleep(0.5)
    assert page.state("a") in ("done-ran", "done-cached") and page.state("python") in ("done-ran", "done-cached")
    assert tally.counts() == {1: 1}
    assert page.errors == []
