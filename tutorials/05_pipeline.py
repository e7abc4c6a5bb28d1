"""A whole stage-compute-retrieve pipeline: inputs staged in from one GridFTP site, the Fortran heat kernel swept
over three step counts as jobs on fork://, a C kernel (Lennard-Jones forces) called in this process, results
staged out to a second site, every transfer checked with sha256, and a report of the run. Then the same command
again: nothing to do. Then one parameter changed: only what depends on it runs. Last, `wrapgen.call`: one kernel
call in this process or as a job, the same signature (with `wrapgen.copy` and `wrapgen.submit`, the one-call trio).

Run it with `make demo` or `python tutorials/05_pipeline.py`; the pipeline file, its journal and the report stay
in build/demo/ (run it twice: the second run of the script finds its work done, too).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import wrapgen
from wrapgen.gridftp.server import Server
from wrapgen.pipeline.cli import summary
from wrapgen.pipeline.report import render

ROOT = Path(__file__).resolve().parent.parent
DEMO = Path("build/demo").resolve()
DEMO.mkdir(parents=True, exist_ok=True)

PIPELINE = """\
pipeline: demo
doc: stage in from site A, compute (a Fortran kernel as jobs, a C kernel in-process), stage out to site B
steps:
  field:                     # the initial temperature field, from site A
    stage_in: {a}/u.npy
  heat:                      # the Fortran 90 kernel, as a job on fork://, at three step counts
    compute: {services}/heat.yaml#heat_step
    inputs: {{u: field}}
    params: {{alpha: 0.2, dt: 1.0, dx: 1.0}}
    sweep: {{product: {{nsteps: [10, 50, 200]}}}}
    outputs: [u]
    job: fork://
  save_heat:                 # each result to site B
    stage_out: heat.u
    to: {b}/heat/u-{{nsteps}}.npy
  atoms:
    stage_in: {a}/pos.npy
  forces:                    # the C kernel, in this process (no process per call)
    compute: {services}/md.yaml#lj_forces
    inputs: {{pos: atoms}}
    params: {{epsilon: 1.0, sigma: 1.0}}
  save_forces:
    stage_out: forces.forces
    to: {b}/md/forces.npy
"""

site_a, site_b = DEMO / "site-a", DEMO / "site-b"
for d in (site_a, site_b):
    d.mkdir(exist_ok=True)
u = np.zeros((40, 40))
u[20, 20] = 1000.0
np.save(site_a / "u.npy", u)
grid = np.array([(i, j, k) for i in range(3) for j in range(3) for k in range(3)], dtype=float) * 1.2
np.save(site_a / "pos.npy", grid + np.random.default_rng(7).normal(scale=0.03, size=grid.shape))


@contextmanager
def site(root: Path, port: int, access: str) -> Iterator[Server]:
    """An anonymous GridFTP server on 127.0.0.1 (jailed to root), on the same port as the last demo if it is free:
    the URLs are part of what a run remembers, so `make demo` run again finds its deliveries done too."""
    for p in (port, 0):
        srv = Server(root, port=p, anonymous=True, anonymous_access=access)
        try:
            srv.start()
        except (OSError, wrapgen.WrapgenError):
            continue
        try:
            yield srv
        finally:
            srv.stop()
        return
    raise SystemExit(f"cannot start a GridFTP server for {root}")


# Two GridFTP servers stand for the data sites.
with site(site_a, 28611, "read") as a, site(site_b, 28612, "full") as b:
    text = PIPELINE.format(a=f"ftp://127.0.0.1:{a.port}", b=f"ftp://127.0.0.1:{b.port}", services=ROOT / "services")
    pipeline = DEMO / "pipeline.yaml"
    pipeline.write_text(text)

    # 1. The whole run (`wrapgen run build/demo/pipeline.yaml` does the same from a shell).
    first = wrapgen.run(pipeline)
    print(summary(first))
    assert first.ok, [n.cause for n in first.nodes.values() if n.cause]
    for n in (10, 50, 200):
        local = np.asfortranarray(u.copy())
        wrapgen.load(ROOT / "services" / "heat.yaml").heat_step(local, 0.2, 1.0, 1.0, nsteps=n)
        assert np.array_equal(np.load(site_b / "heat" / f"u-{n}.npy"), local)
    forces, energy = wrapgen.load(ROOT / "services" / "md.yaml").lj_forces(np.load(site_a / "pos.npy"), 1.0, 1.0)
    assert np.array_equal(np.load(site_b / "md" / "forces.npy"), forces)
    print("site B holds results equal to the local calls")
    for row in first.table("heat"):
        print(f"  heat nsteps={row['nsteps']}: {row['status']}, u {row['u']}")

    # 2. The same command again: every key is known, nothing runs, nothing moves.
    second = wrapgen.run(pipeline)
    print(summary(second))
    assert second.ran == [] and second.staging["files"] == 0

    # 3. One new sweep value: one job, one delivery; the rest stays. (Run the demo again and even those are done.)
    pipeline.write_text(text.replace("[10, 50, 200]", "[10, 50, 200, 400]"))
    third = wrapgen.run(pipeline)
    print(summary(third))
    assert third.ok and set(third.ran) <= {"heat[nsteps=400]", "save_heat[nsteps=400]"}

# The one-call API under the pipeline: the same kernel call in this process and as a job (and on a service:
# tutorial 02), the same signature, the array updated in place both times.
heat = ROOT / "services" / "heat.yaml"
here, there = np.asfortranarray(u.copy()), np.asfortranarray(u.copy())
wrapgen.call(heat, "heat_step", here, 0.2, 1.0, 1.0, nsteps=10)
wrapgen.call("fork://", f"{heat}#heat_step", there, 0.2, 1.0, 1.0, nsteps=10)
assert np.array_equal(here, there)
print("wrapgen.call: in-process and fork:// give the same field")

report = DEMO / "report.png"
print(render(first.log, report))
shutil.copy(first.log, DEMO / "first-run.log")
print(f"results: {site_b}\nreport:  {report}\nlog (NetLogger BP): {DEMO / 'first-run.log'}")
print(f"see it, edit it and run it in the browser: wrapgen editor {pipeline} --specs {ROOT / 'services'}\n"
      "  (its stage URLs name this demo's GridFTP sites, which ran only while the demo did)")
print("pipeline tour passed")
