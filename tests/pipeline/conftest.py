"""Pipeline test helpers: a tally file that counts real kernel calls (tests/pipeline/kernels/tally.c appends to
$TALLY_FILE), and pipeline files written into a test's directory."""

from __future__ import annotations

import collections
import shutil
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
    """A directory holding copies of the test kernels (specs are found relative to the pipeline file)."""
    d = tmp_path / "w"
    shutil.copytree(KERNELS, d)
    shutil.copy(ROOT / "services" / "heat.yaml", d / "heat.yaml")
    (d / "heat.yaml").write_text((d / "heat.yaml").read_text().replace("../legacy/", f"{ROOT}/legacy/"))
    return d


def write(path: Path, text: str) -> Path:
    """Write a pipeline file (dedented)."""
    path.write_text(textwrap.dedent(text))
    return path
