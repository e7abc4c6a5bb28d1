"""A kernel that crashes, STOPs, aborts, hangs or eats memory fails that call with a fault naming the cause;
the server keeps serving (the kernel ran in its own process, never in a server worker)."""

from __future__ import annotations

import numpy as np
import pytest

import wrapgen
from wrapgen.wsrf import RemoteFault


@pytest.fixture(scope="module")
def bad(server):
    return wrapgen.connect(f"{server.url}/misbehave")


def still_serving(bad) -> None:
    x = np.zeros(3)
    bad.add_one(x)
    assert x.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("call, exception, message", [
    (lambda m: m.do_segv(np.zeros(3)), "KernelCrashed", r"crashed with SIGSEGV \(Segmentation fault\)"),
    (lambda m: m.do_stop(3), "KernelExited", r"ended its process with exit status 3"),
    (lambda m: m.do_abort(), "KernelCrashed", r"crashed with SIGABRT"),
    (lambda m: m.spin(np.zeros(1)), "KernelTimeout", r"no result after 1.5 s; the worker was killed"),
    (lambda m: m.hog(512), "KernelOutOfMemory", r"needed more than its memory limit of 67108864 bytes"),
])
def test_each_cause_fails_one_call_and_the_server_goes_on(bad, call, exception, message) -> None:
    with pytest.raises(RemoteFault, match=message) as info:
        call(bad)
    assert type(info.value).__name__ == exception
    assert info.value.exception == exception
    # one hierarchy, local and remote: the class an isolated local call raises catches the served one too
    local = getattr(wrapgen, exception)
    assert isinstance(info.value, local) and isinstance(info.value, wrapgen.WrapgenError)
    assert local.__module__ == "wrapgen.bind.errors"
    still_serving(bad)


def test_the_kernel_errors_are_wrapgens_own_names() -> None:
    from wrapgen.bind import errors, runtime

    assert (wrapgen.KernelExited, wrapgen.KernelCrashed, wrapgen.KernelTimeout, wrapgen.KernelOutOfMemory,
            wrapgen.IsolatedCallError, wrapgen.KernelError) == (
        errors.KernelExited, errors.KernelCrashed, errors.KernelTimeout, errors.KernelOutOfMemory,
        errors.IsolatedCallError, runtime.KernelError)
    assert issubclass(wrapgen.KernelExited, wrapgen.KernelCrashed)
    with pytest.raises(AttributeError):
        wrapgen.KernelNonsense  # noqa: B018


def test_a_crash_in_one_library_does_not_touch_another(server, bad) -> None:
    md = wrapgen.connect(f"{server.url}/md")
    with pytest.raises(RemoteFault):
        bad.do_segv(np.zeros(2))
    forces, energy = md.lj_forces(np.array([[0.0, 0, 0], [1.5, 0, 0]]), 1.0, 1.0)
    assert forces[0, 0] == -forces[1, 0] and energy < 0
