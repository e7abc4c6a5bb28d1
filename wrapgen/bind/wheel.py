"""Package a built library as a wheel, to install on machines without compilers."""

from __future__ import annotations

import base64
import hashlib
import re
import sys
import sysconfig
import zipfile
from pathlib import Path

from ..spec.model import Library
from .build import Built


def wheel_tag() -> str:
    """cpXY-cpXY-<platform> for this interpreter (the extension is built for exactly this ABI)."""
    version = f"cp{sys.version_info.major}{sys.version_info.minor}"
    platform = re.sub(r"[-.]", "_", sysconfig.get_platform())
    return f"{version}-{version}-{platform}"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def write_wheel(lib: Library, built: Built, out_dir: str | Path) -> Path:
    """Write <name>-<version>-<tag>.whl into out_dir; returns its path."""
    from .._version import version as wrapgen_version

    dist = re.sub(r"[^A-Za-z0-9.]+", "_", lib.name)
    version = re.sub(r"[^A-Za-z0-9.+!]+", ".", lib.version) or "0"
    info = f"{dist}-{version}.dist-info"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{dist}-{version}-{wheel_tag()}.whl"
    files: list[tuple[str, bytes]] = []
    for f in sorted(built.package.rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            files.append((f"{lib.name}/{f.relative_to(built.package).as_posix()}", f.read_bytes()))
    metadata = "\n".join([
        "Metadata-Version: 2.1", f"Name: {dist}", f"Version: {version}",
        f"Summary: {(lib.doc or lib.name + ' wrapped by wrapgen').splitlines()[0]}",
        f"Requires-Python: =={sys.version_info.major}.{sys.version_info.minor}.*",
        f"Requires-Dist: wrapgen>={wrapgen_version()}", "Requires-Dist: numpy", "", ""])
    wheel_meta = "\n".join(["Wheel-Version: 1.0", f"Generator: wrapgen {wrapgen_version()}", "Root-Is-Purelib: false",
                            f"Tag: {wheel_tag()}", "", ""])
    files += [(f"{info}/METADATA", metadata.encode()), (f"{info}/WHEEL", wheel_meta.encode())]
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            z.writestr(name, data)
        z.writestr(f"{info}/RECORD", record)
    return path
