"""Publish a wrapped kernel as a WS-RF grid service, and call it from anywhere.

Run it with `python tutorials/02_publish_service.py` (or `make demo`). It serves the 2-D heat stepper
(services/heat.yaml, Fortran 90) on 127.0.0.1 and calls it three ways: plain zeep built from the WSDL,
`wrapgen.connect` (the same interface as the local module), and a stateful WS-Resource with
notifications. On the command line the server is `wrapgen serve services/heat.yaml --port 8080`.
"""

from __future__ import annotations

import queue
import tempfile
from pathlib import Path

import numpy as np
import zeep

import wrapgen
from wrapgen.wsrf import Server

ROOT = Path(__file__).resolve().parent.parent
HEAT = ROOT / "services" / "heat.yaml"
work = Path(tempfile.mkdtemp(prefix="wrapgen-tutorial-"))

# A plate at 0 K whose top edge is held at 100 K (Fortran order, as the kernel wants it).
u0 = np.zeros((16, 16), order="F")
u0[0, :] = 100.0
local = wrapgen.load(HEAT)  # the same kernel, in this process, for comparison
expected = u0.copy(order="F")
local.heat_step(expected, 1.0, 0.2, 1.0, nsteps=50)

# 1. Serve it: gunicorn workers on 127.0.0.1 and a free port; every call runs the kernel in its own
#    process, and WS-Resource state lives in SQLite (kept across restarts).
# notify_allow: this tutorial's notification consumer listens on 127.0.0.1; a server sends notifications only
# to public addresses unless its operator allows a network (`wrapgen serve --notify-allow 127.0.0.0/8`).
with Server([HEAT], state=work / "state.db", workers=2, notify_allow=["127.0.0.0/8"]) as server:
    print(f"serving heat at {server.url}/heat?wsdl")

    # 2. Any SOAP client works from the WSDL alone. Arrays travel as NDArray: dtype, shape, order and
    #    base64 data (not one XML element per number).
    client = zeep.Client(f"{server.url}/heat?wsdl")
    out = client.service.heat_step(
        u={"dtype": "float64", "shape": [16, 16], "order": "F", "data": u0.tobytes(order="F")},
        alpha=1.0, dt=0.2, dx=1.0, nsteps=50)
    via_zeep = np.ndarray(tuple(out.shape), dtype="<f8", buffer=out.data, order=out.order)
    assert np.array_equal(via_zeep, expected)
    print("zeep: the service's answer equals the local kernel's")

    # 3. wrapgen.connect: the remote library looks like the local module. u is updated in place, and
    #    the kernel's declared errors come back as the same exception classes.
    heat = wrapgen.connect(f"{server.url}/heat")
    u = u0.copy(order="F")
    heat.heat_step(u, 1.0, 0.2, 1.0, nsteps=50)
    assert np.array_equal(u, expected)
    try:
        heat.heat_step(u, 1.0, 1.0, 1.0)  # alpha*dt/dx**2 > 1/4
    except heat.UnstableStepError as exc:
        print(f"refused as the spec says: {exc} (code {exc.code})")
    else:
        raise AssertionError("an unstable step must be refused")
    try:
        heat.heat_step(u.astype(np.float32), 1.0, 0.2, 1.0)  # never converted silently
    except wrapgen.wsrf.RemoteFault as exc:
        print(f"refused: {exc}")
    else:
        raise AssertionError("a float32 array must be refused, not converted")

    # 4. A stateful run: one WS-Resource per computation. Create it, watch it, fetch the result, destroy it.
    events: queue.Queue = queue.Queue()
    run = heat.heat_step.create(u=u0, alpha=1.0, dt=0.2, dx=1.0, nsteps=50)
    print("created", run.address, "status", run.status, "terminates", run.properties["TerminationTime"])
    subscription = run.subscribe(events.put)  # pushed to a small endpoint in this process
    run.start()
    assert run.wait(120) == "Succeeded"
    assert np.array_equal(run.result(), expected)
    seen = [events.get(timeout=30).status for _ in range(2)]
    assert seen == ["Running", "Succeeded"], seen
    print("notifications:", " -> ".join(seen))
    print("query:", run.query("string(r:Status)"), "progress", run.query("string(r:Progress)"))
    run.destroy()
    subscription.close()
print("done")
