"""`wrapgen build --wheel`: a wheel that pip installs and that imports where no compiler exists."""

from __future__ import annotations

import base64
import csv
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_installs_and_runs_without_compilers(run_cli, tmp_path) -> None:
    proc = run_cli("build", str(ROOT / "services" / "tridiag.yaml"), "--cache", str(tmp_path / "cache"),
                   "--wheel", str(tmp_path / "dist"))
    assert proc.returncode == 0, proc.stderr
    wheels = list((tmp_path / "dist").glob("*.whl"))
    assert len(wheels) == 1 and wheels[0].name.startswith(f"tridiag-1.0-cp{sys.version_info[0]}{sys.version_info[1]}-cp{sys.version_info[0]}{sys.version_info[1]}-linux_")
    with zipfile.ZipFile(wheels[0]) as z:
        names = set(z.namelist())
        assert {"tridiag/__init__.py", "tridiag/__init__.pyi", "tridiag/py.typed",
                "tridiag-1.0.dist-info/METADATA", "tridiag-1.0.dist-info/WHEEL",
                "tridiag-1.0.dist-info/RECORD"} <= names
        assert any(n.startswith("tridiag/_tridiag_") and n.endswith(".so") for n in names)
        rows = list(csv.reader(z.read("tridiag-1.0.dist-info/RECORD").decode().splitlines()))
        for name, digest, size in rows:  # every file is recorded with its real hash and size
            if name.endswith("RECORD"):
                continue
            data = z.read(name)
            want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert digest == f"sha256={want}" and int(size) == len(data), name
    target = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target",
                          str(target), str(wheels[0])], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    # No compilers or cmake on PATH: the module must import from the wheel alone.
    code = ("import numpy as np, tridiag; b = np.ones(3); "
            "tridiag.tridiag(np.ones(2), np.full(3, 4.0), np.ones(2), b); print(b.round(6).tolist())")
    run = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=120,
                         env={"PATH": str(tmp_path / "empty"), "PYTHONPATH": str(target)})
    assert run.returncode == 0, run.stderr
    a = np.diag([4.0] * 3) + np.diag([1.0] * 2, 1) + np.diag([1.0] * 2, -1)
    assert run.stdout.strip() == str(np.linalg.solve(a, np.ones(3)).round(6).tolist())
