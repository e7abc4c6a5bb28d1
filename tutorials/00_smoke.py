"""Smoke tour: the wrapgen CLI, `wrapgen doctor`, and checksums from the native core.

Run it with `make demo` or `python tutorials/00_smoke.py`. Later tutorials wrap a legacy kernel,
serve it and run a whole stage-compute-retrieve pipeline; this one checks the installation.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import wrapgen
from wrapgen.checksum import ALGORITHMS, file_checksum, new


def wrapgen_cli(*args: str) -> str:
    """Run the wrapgen command as a user would and return what it printed."""
    proc = subprocess.run([sys.executable, "-m", "wrapgen", *args], capture_output=True, text=True, check=True)
    return proc.stdout


print(wrapgen_cli("--version").strip())
print(wrapgen_cli("doctor"))

with tempfile.TemporaryDirectory() as tmp:
    data = Path(tmp) / "input.dat"
    payload = bytes(range(256)) * 4096  # 1 MiB
    data.write_bytes(payload)

    # One call per algorithm, the same names GridFTP's CKSM command uses.
    for algorithm in ALGORITHMS:
        print(f"{algorithm:>8}  {file_checksum(data, algorithm)}")
    assert file_checksum(data, "MD5") == hashlib.md5(payload).hexdigest()
    assert file_checksum(data, "ADLER32") == f"{zlib.adler32(payload):08x}"

    # A byte range, as in `CKSM SHA256 1000 5000 input.dat`.
    assert file_checksum(data, "SHA256", offset=1000, length=5000) == hashlib.sha256(payload[1000:6000]).hexdigest()

    # Incremental, for data that arrives in pieces (a transfer in flight).
    h = new("CRC32C")
    for start in range(0, len(payload), 65536):
        h.update(payload[start : start + 65536])
    assert h.hexdigest() == file_checksum(data, "CRC32C")

    # The CLI prints like md5sum.
    line = wrapgen_cli("checksum", str(data))
    assert line.split()[0] == hashlib.md5(payload).hexdigest()
    print(line.strip())

print(f"wrapgen {wrapgen.__version__}: smoke tour passed")
