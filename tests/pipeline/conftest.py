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
