"""A Fortran integrator calling back into Python: results, the abort protocol, malformed callbacks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from wrapgen.bind.loader import load
from wrapgen.bind.pyf import pyf_source
from wrapgen.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
ODE = ROOT / "services" / "ode.yaml"


@pytest.fixture(scope="module")
def ode(tmp_path_factory):
    return load(ODE, cache=tmp_path_factory.mktemp("cache"))


def test_exponential_decay(ode) -> None:
    y = np.array([1.0, 2.0])
    ode.rk4(lambda t, y: -y, y, 0.0, 1.0, 200)
    np.testing.assert_allclose(y, [np.exp(-1), 2 * np.exp(-1)], rtol=1e-10)


def test_harmonic_oscillator_and_time_dependence(ode) -> None:
    y = np.array([1.0, 0.0])  # x'' = -x
    ode.rk4(lambda t, y: np.array([y[1], -y[0]]), y, 0.0, np.pi / 2, 400)
    np.testing.assert_allclose(y, [0.0, -1.0], atol=1e-10)
    z = np.array([0.0])  # z' = t  ->  z(2) = 2
    ode.rk4(lambda t, z: np.array([t]), z, 0.0, 2.0, 4)
    assert z[0] == pytest.approx(2.0, rel=1e-12)


def test_a_raising_callback_stops_the_kernel_and_its_exception_comes_back(ode) -> None:
    calls = []

    def rhs(t, y):
        calls.append(t)
        if t > 0.5:
            raise KeyError(f"no data after t={t:g}")
        return -y

    y = np.array([1.0])
    with pytest.raises(KeyError, match="no data after t=0.55") as info:
        ode.rk4(rhs, y, 0.0, 1.0, 10)
    assert info.value.__notes__ == ["raised in a callback of rk4(); the computation was stopped"]
    assert calls[-1] == pytest.approx(0.55)  # the kernel made no call after the failed one
    assert y[0] == pytest.approx(np.exp(-0.5), rel=1e-6)  # the last completed step


@pytest.mark.parametrize(
    ("rhs", "error", "message"),
    [
        (lambda t, y: np.zeros(3), ValueError, "rk4(): callback 'f' returned dydt of shape (3,), expected (2,)"),
        (lambda t, y: (y, y), ValueError, "returned dydt of shape (2, 2), expected (2,)"),
        (lambda t: t, TypeError, "takes 1 positional argument but 2 were given"),
    ],
)
def test_malformed_callbacks_are_reported(ode, rhs, error, message) -> None:
    y = np.ones(2)
    with pytest.raises(error) as info:
        ode.rk4(rhs, y, 0.0, 1.0, 5)
    assert message in str(info.value)
    assert y.tolist() == [1.0, 1.0]  # it failed in the first step


def test_arguments_are_checked(ode) -> None:
    with pytest.raises(TypeError, match=r"rk4\(\): argument 'f' must be callable, got int"):
        ode.rk4(5, np.ones(2), 0.0, 1.0, 10)
    with pytest.raises(ValueError, match=r"argument 'nsteps' = 0 is outside \[1, inf\]"):
        ode.rk4(lambda t, y: -y, np.ones(2), 0.0, 1.0, 0)


def test_docstring_shows_the_callback_signature(ode) -> None:
    assert "f : callable, called as f(t, y) -> dydt" in ode.rk4.__doc__
    assert "if it raises, the computation is stopped" in ode.rk4.__doc__


def test_the_gil_is_released_around_the_fortran_and_retaken_in_callbacks(ode, progress_while) -> None:
    text = pyf_source(load_spec(ODE))
    routine = text[text.index("subroutine rk4"):]
    assert "threadsafe" in routine and "__user__routines" in routine
    n = 2_000_000
    dydt = np.zeros(n)
    y = np.ones(n)
    # The callback does almost nothing; the Fortran loops over 2e6 values between calls.
    assert progress_while(lambda: ode.rk4(lambda t, y: dydt, y, 0.0, 1.0, 20)) > 1000
    # Callbacks from a worker thread while the main thread runs Python too.
    import threading

    out = []
    t = threading.Thread(target=lambda: out.append(ode.rk4(lambda t, y: -y, np.ones(3), 0.0, 1.0, 50)))
    t.start()
    total = sum(range(200_000))
    t.join()
    assert total == 19999900000 and out == [None]


# ---------------------------------------------------------------- callbacks of isolated calls


@pytest.fixture(scope="module")
def ode_isolated(tmp_path_factory):
    mod = load(ODE, cache=tmp_path_factory.mktemp("cache"), isolate=True)
    yield mod
    mod.close()


def test_lambdas_and_closures_work_in_isolated_calls(ode_isolated) -> None:
    """The callable stays in the caller's process; the kernel in the worker calls it back over the channel."""
    k = 0.5
    y = np.ones(2)
    seen = []

    def rhs(t, y):
        seen.append(t)  # a closure over the caller's state: it sees every call-back
        return -k * y

    assert ode_isolated.rk4(lambda t, y: -k * y, y, 0.0, 1.0, 50) is None
    assert y == pytest.approx(np.exp(-0.5) * np.ones(2), rel=1e-8)
    ode_isolated.rk4(rhs, np.ones(2), 0.0, 1.0, 10)
    assert len(seen) == 40 and seen[0] == 0.0


def test_a_callback_exception_in_an_isolated_call_is_the_callers_own(ode_isolated) -> None:
    class Stop(Exception):
        pass

    raised = Stop("enough")

    def rhs(t, y):
        if t > 0.5:
            raise raised
        return -y

    y = np.ones(2)
    with pytest.raises(Stop) as info:
        ode_isolated.rk4(rhs, y, 0.0, 1.0, 10)
    assert info.value is raised  # the very object, though the kernel ran in another process
    assert info.value.__notes__ == ["raised in a callback of rk4(); the computation was stopped"]
    assert y.tolist() == [1.0, 1.0]  # an isolated call changes the caller's arrays only after a clean return


def test_malformed_callbacks_of_isolated_calls_name_the_callback(ode_isolated) -> None:
    with pytest.raises(TypeError, match=r"rk4\(\): the value dydt returned by callback 'f' must be numbers that fit "
                                        r"float64, got text"):
        ode_isolated.rk4(lambda t, y: "text", np.ones(2), 0.0, 1.0, 10)
    with pytest.raises(TypeError, match=r"rk4\(\): argument 'f' must be callable, got int"):
        ode_isolated.rk4(5, np.ones(2), 0.0, 1.0, 10)
    assert ode_isolated.rk4(lambda t, y: -y, np.ones(2), 0.0, 1.0, 1) is None  # the worker is still in step


def test_a_main_module_function_works_in_an_isolated_call(tmp_path) -> None:
    script = tmp_path / "main.py"
    script.write_text(textwrap.dedent(f"""
        import numpy as np
        from wrapgen.bind.loader import load

        def rhs(t, y):
            return -y

        mod = load({str(ODE)!r}, cache={str(tmp_path / 'cache')!r}, isolate=True)
        y = np.ones(2)
        mod.rk4(rhs, y, 0.0, 1.0, 20)
        print(round(float(y[0]), 6))
        mod.close()
    """))
    r = subprocess.run([sys.executable, "-P", str(script)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(round(float(np.exp(-1.0)), 6))


def test_callback_values_are_checked_without_f2py_printing(ode, capfd) -> None:
    for bad in (lambda t, y: "text", lambda t, y: object(), lambda t, y: [1.5, "x"]):
        with pytest.raises(TypeError, match="returned by callback 'f'"):
            ode.rk4(bad, np.ones(2), 0.0, 1.0, 2)
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # nothing printed by f2py: the value never reached it
