"""C++ classes served as WS-Resources: Create_<Class> is the constructor, methods are operations on the resource,
readable properties are resource properties, Destroy runs the destructor; each object lives in a process of its
own for its whole life (services/particles.yaml, tests/bind/kernels/fragile.yaml)."""

from __future__ import annotations

import os
import socket
import subprocess
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import zeep

import wrapgen
from wrapgen.wsrf import RemoteFault
from wrapgen.wsrf.model import service_model
from wrapgen.wsrf.objects import socket_name
from wrapgen.wsrf.server import Server

ROOT = Path(__file__).resolve().parents[2]
PARTICLES = ROOT / "services" / "particles.yaml"
FRAGILE = ROOT / "tests" / "bind" / "kernels" / "fragile.yaml"


@pytest.fixture(scope="module")
def objects_server(tmp_path_factory):
    state = tmp_path_factory.mktemp("objects") / "state.db"
    os.environ["PARTICLES_TRACE"] = "1"  # the destructor says so on stderr, which goes to the object's log
    try:
        with Server([PARTICLES, FRAGILE], state=state, workers=2, sweep_interval=0.2,
                    log_file=str(state.with_suffix(".log"))) as srv:
            yield srv, state
    finally:
        del os.environ["PARTICLES_TRACE"]


def _log(state: Path, obj) -> str:
    path = state.with_suffix(".objects") / f"{obj.key}.log"
    return path.read_text() if path.exists() else ""


def _until(predicate, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_an_object_is_constructed_used_and_destroyed_remotely(objects_server) -> None:
    srv, state = objects_server
    particles = wrapgen.connect(f"{srv.url}/particles")
    local = wrapgen.load(PARTICLES).ParticleSystem(2, 5.0)
    p = particles.ParticleSystem(2, 5.0)
    for obj in (p, local):  # the same calls, the same answers
        assert obj.set_velocities([1.0, 0.0, 0.0, 0.5, 0.5, 0.5]) is None
        assert obj.step(1.0) == 0
    np.testing.assert_array_equal(p.positions(), local.positions())
    assert (p.size, p.box, p.label) == (2, 5.0, "system")  # readable properties are resource properties
    assert p.kinetic_energy() == local.kinetic_energy() and p.kinetic_energy(mass=2.0) == local.kinetic_energy(2.0)
    assert p.describe() == "system: 2 particles in a box of 5"
    with pytest.raises(RemoteFault, match="particle 0 would move more than half the box") as info:
        p.step(10.0)
    assert type(info.value).__name__ == "UnstableStepError"  # the spec's C++ exception map holds remotely
    assert p.step(0.5) == 0  # the object is still there, and still the same object
    np.testing.assert_allclose(p.positions()[:3], [1.5, 0.0, 0.0])
    p.destroy()
    assert _until(lambda: "~ParticleSystem(system, 2 particles)" in _log(state, p))  # the destructor ran
    with pytest.raises(wrapgen.wsrf.ResourceUnknown, match="no ParticleSystem object with key"):
        p.step(1.0)


def test_each_object_is_its_own(objects_server) -> None:
    srv, _ = objects_server
    fragile = wrapgen.connect(f"{srv.url}/fragile")
    with fragile.Counter(10) as a, fragile.Counter(start=100) as b:
        assert (a.bump(1), b.bump(2), a.bump(3)) == (11, 102, 14)
        assert (a.value, b.value) == (14, 102)


def test_a_crash_in_a_method_loses_that_object_only(objects_server) -> None:
    srv, _ = objects_server
    fragile = wrapgen.connect(f"{srv.url}/fragile")
    doomed, other = fragile.Counter(1), fragile.Counter(2)
    with pytest.raises(RemoteFault, match="the process holding the object ended while running 'crash'") as info:
        doomed.crash(7)
    assert isinstance(info.value, wrapgen.KernelCrashed)  # the same class an isolated local call raises
    with pytest.raises(RemoteFault, match="the Counter object is lost"):
        doomed.bump(1)
    assert other.bump(1) == 3  # another object, another process: untouched
    doomed.destroy()  # a lost object can still be destroyed (its resource goes)
    other.destroy()


def test_the_termination_time_runs_the_destructor(objects_server) -> None:
    srv, state = objects_server
    p = wrapgen.connect(f"{srv.url}/particles").ParticleSystem(3, 1.0)
    p.set_termination(0.3)
    assert _until(lambda: "~ParticleSystem(system, 3 particles)" in _log(state, p))
    with pytest.raises(wrapgen.wsrf.ResourceUnknown):
        p.step(0.1)


def test_bad_constructor_arguments_create_nothing(objects_server) -> None:
    srv, _ = objects_server
    particles = wrapgen.connect(f"{srv.url}/particles")
    with pytest.raises(ValueError, match=r"argument 'n' = -1 is outside \[0, inf\]"):
        particles.ParticleSystem(-1, 1.0)
    with pytest.raises(TypeError, match="ParticleSystem\\(\\) has no argument 'size'"):
        particles.ParticleSystem(size=2, box=1.0)


def test_what_cannot_travel_is_left_out_by_name() -> None:
    model = service_model(FRAGILE)
    cm = model.classes["Counter"]
    assert sorted(cm.methods) == ["bump", "crash"]
    assert cm.skipped == {"Counter.absorb": "argument 'other' has dtype object, which cannot travel over SOAP"}
    particles = service_model(PARTICLES).classes["ParticleSystem"]
    assert particles.skipped == {"ParticleSystem constructor 2": "argument 'other' has dtype object, which cannot "
                                                                 "travel over SOAP"}
    assert sorted(particles.property_args) == ["box", "label", "size"]


def test_wsdl_describes_the_factory_and_the_object_port(objects_server) -> None:
    srv, _ = objects_server
    lib = zeep.Client(f"{srv.url}/particles?wsdl")
    factory = lib.wsdl.bindings["{urn:wrapgen:particles}particlesBinding"]._operations["Create_ParticleSystem"]
    assert [n for n, _ in factory.input.body.type.elements] == ["n", "box"]
    port = zeep.Client(f"{srv.url}/particles/ParticleSystem?wsdl")
    ops = port.wsdl.bindings["{urn:wrapgen:particles}ParticleSystemBinding"]._operations
    assert {"step", "positions", "set_velocities", "Destroy", "GetResourceProperty"} <= set(ops)


def test_another_user_cannot_talk_to_an_object(objects_server) -> None:
    """The object's socket answers only processes of the server's own user: a pickle from anyone else is never
    read (it could run code)."""
    srv, state = objects_server
    c = wrapgen.connect(f"{srv.url}/fragile").Counter(5)
    name = socket_name(state, c.key)
    stranger = textwrap.dedent("""
        import pickle, socket, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(bytes.fromhex(sys.argv[1]))
            payload = pickle.dumps(("call", "bump", {"by": 1000}))
            s.sendall(len(payload).to_bytes(4, "big") + payload)
            s.settimeout(5)
            print("answered" if s.recv(100) else "closed")
        except OSError as exc:
            print("refused", exc)
    """)
    # Another user on the same machine (Debian's own python3: the venv under /root is not theirs to run).
    r = subprocess.run(["/usr/bin/python3", "-c", stranger, name.hex()], user=65534, group=65534, extra_groups=[],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] in ("closed", "refused"), r.stdout  # closed without an answer
    assert c.value == 5  # the stranger's call never ran
    c.destroy()


def test_a_resource_key_that_begins_with_a_dash_starts_its_object(tmp_path) -> None:
    """Keys are random URL-safe text: one in 64 begins with '-', which a command line must not read as an
    option (it did: the object's process refused its arguments)."""
    from wrapgen.wsrf.objects import request, start

    state = str(tmp_path / "state.db")
    pid = start(str(FRAGILE), "Counter", state, "-k3y", {"start": 4}, None, tmp_path / "obj.log", 120.0)
    assert pid > 0
    assert request(state, "-k3y", ("call", "bump", {"by": 1}), 30.0) == 5
    assert request(state, "-k3y", ("get", ["value"]), 30.0) == {"value": 5}
    assert request(state, "-k3y", ("destroy",), 30.0) is None


def test_a_connection_that_says_nothing_does_not_hold_the_object(objects_server) -> None:
    """The object's process serves one request at a time: a silent connection (of the server's own user) is
    dropped after REQUEST_TIMEOUT, and the next call is answered."""
    from wrapgen.wsrf.objects import REQUEST_TIMEOUT

    srv, state = objects_server
    c = wrapgen.connect(f"{srv.url}/fragile").Counter(1)
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(socket_name(state, c.key))
    try:
        start = time.monotonic()
        assert c.bump(1) == 2  # served once the silent connection was given up
        assert time.monotonic() - start < REQUEST_TIMEOUT + 10
        silent.settimeout(5)
        assert silent.recv(10) == b""  # closed by the object's process, unanswered
    finally:
        silent.close()
        c.destroy()
