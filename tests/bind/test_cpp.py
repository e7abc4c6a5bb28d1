"""A C++ class through generated pybind11 code: constructors, methods, properties, std::vector,
std::string, and C++ exceptions mapped to Python ones."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from wrapgen import WrapgenError
from wrapgen.bind.loader import load
from wrapgen.bind.runtime import KernelError

ROOT = Path(__file__).resolve().parents[2]
PARTICLES = ROOT / "services" / "particles.yaml"


@pytest.fixture(scope="module")
def particles(tmp_path_factory):
    return load(PARTICLES, cache=tmp_path_factory.mktemp("cache"))


@pytest.fixture
def system(particles):
    p = particles.ParticleSystem(2, 10.0)
    p.set_positions(np.array([1.0, 2.0, 3.0, 9.5, 0.5, 5.0]))
    p.set_velocities([1.0, 0.0, 0.0, 1.0, -1.0, 0.0])
    return p


def test_constructors_properties_and_strings(particles, system) -> None:
    assert (system.size, system.box, system.label) == (2, 10.0, "system")
    assert system.describe() == "system: 2 particles in a box of 10"
    copy = particles.ParticleSystem(system, "copy")  # the overload taking another object
    assert copy.describe() == "copy: 2 particles in a box of 10"
    np.testing.assert_array_equal(copy.positions(), system.positions())
    system.box = 20.0
    system.label = "renamed"
    assert system.describe() == "renamed: 2 particles in a box of 20"
    assert copy.box == 10.0  # a real copy
    with pytest.raises(AttributeError):
        system.size = 3


def test_vectors_in_and_out_and_default_arguments(system) -> None:
    assert system.step(1.0) == 2  # two coordinates wrapped around the box
    pos = system.positions()
    assert isinstance(pos, np.ndarray) and pos.dtype == np.float64
    np.testing.assert_allclose(pos, [2.0, 2.0, 3.0, 0.5, 9.5, 5.0])
    assert system.kinetic_energy() == 1.5
    assert system.kinetic_energy(mass=2.0) == 3.0
    pos[:] = 0  # the returned array is the caller's own copy
    assert system.positions()[0] == 2.0


def test_cpp_exceptions_become_the_mapped_python_classes(particles, system) -> None:
    with pytest.raises(particles.UnstableStepError, match="particle 0 would move more than half the box") as info:
        system.step(100.0)
    assert isinstance(info.value, KernelError) and isinstance(info.value, WrapgenError)
    assert type(info.value).__module__ == "particles"
    with pytest.raises(ValueError, match="^expected 6 coordinates, got 1$"):  # std::length_error
        system.set_positions([1.0])
    with pytest.raises(ValueError, match="^box must be > 0$"):  # std::invalid_argument (pybind11's default)
        system.box = -1.0
    np.testing.assert_allclose(system.positions(), [1.0, 2.0, 3.0, 9.5, 0.5, 5.0])  # nothing half-done


def test_spec_ranges_are_checked_in_constructors_and_methods(particles, system) -> None:
    with pytest.raises(ValueError, match=r"^ParticleSystem\(\): argument 'n' = -1 is outside \[0, inf\]$"):
        particles.ParticleSystem(-1, 1.0)
    with pytest.raises(ValueError, match=r"^step\(\): argument 'dt' = -1.0 is outside \[0, inf\]$"):
        system.step(-1.0)
    with pytest.raises(TypeError):
        system.set_positions(np.zeros((2, 3)).tolist() + ["x"])


def test_stub_describes_the_class(particles) -> None:
    stub = (Path(particles.__file__).with_suffix(".pyi")).read_text()
    ast.parse(stub)
    assert "class ParticleSystem:" in stub
    assert "    def __init__(self, other: ParticleSystem, label: str) -> None: ..." in stub
    assert "    def positions(self) -> npt.NDArray[np.float64]: ..." in stub
    assert "    def kinetic_energy(self, mass: float = ...) -> float: ..." in stub
    assert "class UnstableStepError(KernelError): ..." in stub
