"""Pipeline test helpers: a tally file that counts real kernel calls (tests/pipeline/kernels/tally.c appends to
$TALLY_FILE), and pipeline files written into a test's directory."""

from __future__ import annotations

import collections
import textwrap
from pathlib import Path

import pytest

KERNELS = Path(__file__).resolve().parent / "kernels"
ROOT = Path(__file__).resolve().parents[2]


class Tally:
    """The calls tally() made, as counts per i."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def counts(self) -> collections.Counter[int]:
        """How many times each i was called."""
        if not self.path.exists():
            return collections.Counter()
        return collections.Counter(int(x) for x in self.path.read_text().split())


@pytest.fixture
def tally(tmp_path, monkeypatch) -> Tally:
    path = tmp_path / "tally.txt"
    monkeypatch.setenv("TALLY_FILE", str(path))
    return Tally(path)


@pytest.fixture
def workdir(tmp_path) -> Path:
    """A directory for pipeline files, with the test kernels' specs linked in (a link resolves to the real file,
    so every test shares one build of each kernel)."""
    d = tmp_path / "w"
    d.mkdir()
    (d / "tally.yaml").symlink_to(KERNELS / "tally.yaml")
    (d / "heat.yaml").symlink_to(ROOT / "services" / "heat.yaml")
    return d


def write(path: Path, text: str) -> Path:
    """Write a pipeline file (dedented)."""
    path.write_text(textwrap.dedent(text))
    return path


def killed_mid_step(workdir: Path, tally: Tally) -> Path:
    """Run a one-step pipeline whose kernel sleeps 5 s and kill -9 its driver once the kernel has started; the
    pipeline file (its state is .wrapgen/killed)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    p = write(workdir / "p.yaml", "pipeline: killed\nsteps:\n"
              "  slow: {compute: 'tally.yaml#tally', params: {i: 1, ms: 5000}}\n")
    driver = subprocess.Popen([sys.executable, "-m", "wrapgen", "run", "-q", str(p)])
    deadline = time.monotonic() + 60
    while not tally.counts() and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    return p
