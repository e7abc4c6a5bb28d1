"""A real GRAM5 gatekeeper runs a wrapgen kernel job (issue 13): `globusrun` submits the RSL `wrapgen rsl` prints,
the job manager stages the input from wrapgen's GSI GridFTP server, runs the kernel, stages the result back, and
the result equals the local call. This is what "GRAM-launchable" means for a user with an existing gatekeeper."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import wrapgen

HEAT = Path(__file__).resolve().parents[2] / "services" / "heat.yaml"


def test_globusrun_runs_a_kernel_job_staged_over_our_gridftp(gram5) -> None:
    u = np.zeros((7, 6))
    u[3, 2] = 40.0
    buf = io.BytesIO()
    np.save(buf, u)
    (gram5.root / "u.npy").write_bytes(buf.getvalue())
    params = {"alpha": 0.1, "dt": 0.5, "dx": 1.0, "nsteps": 3}
    cache = os.environ.get("WRAPGEN_CACHE") or str(Path.home() / ".cache" / "wrapgen")
    wrapgen.load(HEAT)  # built here first, so the job finds the build in the cache it is told to use
    rsl = subprocess.run([sys.executable, "-m", "wrapgen", "rsl", str(HEAT), "heat_step", "--input",
                          f"u={gram5.gsiftp}/u.npy", "--output", f"u={gram5.gsiftp}/out/u.npy",
                          *[a for k, v in params.items() for a in ("--param", f"{k}={v}")], "--scratch", "$(HOME)",
                          "--env", f"WRAPGEN_CACHE={cache}"], capture_output=True, text=True, check=True).stdout
    (gram5.root / "out").mkdir()
    r = gram5.run(["globusrun", "-r", gram5.contact, rsl])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-4:] == ["GLOBUS_GRAM_PROTOCOL_JOB_STATE_STAGE_IN",
                                          "GLOBUS_GRAM_PROTOCOL_JOB_STATE_ACTIVE",
                                          "GLOBUS_GRAM_PROTOCOL_JOB_STATE_STAGE_OUT",
                                          "GLOBUS_GRAM_PROTOCOL_JOB_STATE_DONE"], r.stdout
    local = np.asfortranarray(u.copy())
    wrapgen.load(HEAT).heat_step(local, **params)
    assert np.array_equal(np.load(gram5.root / "out" / "u.npy"), local)


def test_gram5_refuses_what_wrapgen_refuses(gram5) -> None:
    """The same unknown attribute, refused by both with GRAM's error 1 (wrapgen says where it is)."""
    r = gram5.run(["globusrun", "-r", gram5.contact, "&(executable=/bin/true)(bogus_attr=1)"], timeout=120)
    assert r.returncode != 0 and '"bogusattr" is not supported' in r.stderr and "(error code 1)" in r.stderr, \
        r.stdout + r.stderr
    from wrapgen.gram.description import JobDescription
    from wrapgen.gram.errors import RSLError

    try:
        JobDescription.from_rsl("&(executable=/bin/true)(bogus_attr=1)")
    except RSLError as exc:
        assert exc.code == 1 and (exc.line, exc.column) == (1, 25)
    else:
        raise AssertionError("wrapgen accepted an unknown attribute")
