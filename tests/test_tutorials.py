"""Every tutorial script runs to completion (each checks its own results with asserts)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parent.parent / "tutorials").glob("*.py"))


def test_there_are_tutorials() -> None:
    assert TUTORIALS, "tutorials/ has no scripts"


@pytest.mark.parametrize("script", TUTORIALS, ids=[p.name for p in TUTORIALS])
def test_tutorial_runs(script: Path, tmp_path: Path) -> None:
    env = {**os.environ, "WRAPGEN_CACHE": str(tmp_path / "cache")}  # never the user's own cache
    proc = subprocess.run([sys.executable, "-P", str(script)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=600, stdin=subprocess.DEVNULL, env=env)
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout}\n{proc.stderr}"
