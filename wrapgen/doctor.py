"""`wrapgen doctor`: which external tools wrapgen can use here, their versions, and what is lost without them."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass

__all__ = ["TOOLS", "Tool", "ToolStatus", "check", "check_all", "register"]

_VERSION = re.compile(r"(\d+(?:\.\d+)+)")


@dataclass(frozen=True)
class Tool:
    """An external program wrapgen drives, how to ask its version, and what it is for."""

    name: str
    argv: tuple[str, ...]  # "{python}" stands for the running interpreter
    needed_for: str
    debian_package: str


@dataclass(frozen=True)
class ToolStatus:
    """What `check` found out about one tool."""

    name: str
    state: str  # "found", "missing" or "broken"
    version: str | None
    path: str | None
    detail: str
    needed_for: str
    debian_package: str


TOOLS: tuple[Tool, ...] = (
    Tool("cmake", ("cmake", "--version"), "building wrapgen._core and every wrapped kernel", "cmake"),
    Tool("ninja", ("ninja", "--version"), "fast parallel builds (CMake falls back to make)", "ninja-build"),
    Tool("cc", ("cc", "--version"), "wrapping C kernels", "gcc"),
    Tool("c++", ("c++", "--version"), "wrapping C++ kernels and building the native core", "g++"),
    Tool("gfortran", ("gfortran", "--version"), "wrapping Fortran 77/90 kernels", "gfortran"),
    Tool("f2py", ("{python}", "-m", "numpy.f2py", "-v"), "generating Fortran wrappers", "pip: numpy"),
    Tool("globus-url-copy", ("globus-url-copy", "-version"), "interop tests against GCT's client",
         "globus-gass-copy-progs"),
    Tool("globus-gridftp-server", ("globus-gridftp-server", "-version"), "interop tests against GCT's server",
         "globus-gridftp-server-progs"),
    Tool("slurmctld", ("slurmctld", "-V"), "the Slurm job backend", "slurm-wlm"),
    Tool("munge", ("munge", "--version"), "Slurm authentication (the Slurm backend)", "munge"),
    Tool("chromium", ("chromium", "--version"), "the editor's browser tests (any browser opens the editor itself)",
         "chromium"),
    Tool("gunicorn", ("gunicorn", "--version"), "serving WS-RF services with several workers", "pip: gunicorn"),
    Tool("openssl", ("openssl", "version"), "checking trust directories by hand (wrapgen itself links libcrypto)",
         "openssl"),
    Tool("grid-proxy-init", ("grid-proxy-init", "-version"), "interop tests of proxies with GCT's tools",
         "globus-proxy-utils"),
    Tool("wsdl2h", ("wsdl2h", "-V"), "checking generated WSDL with gSOAP (tests)", "gsoap"),
    Tool("perl", ("perl", "-MSOAP::Lite", "-e", "print $SOAP::Lite::VERSION"),
         "the Perl SOAP::Lite interop test of the services", "libsoap-lite-perl"),
)


def _which(program: str) -> str | None:
    # The interpreter's own bin directory first: a venv's tools count even when it is not activated.
    here = os.path.dirname(sys.executable)
    return shutil.which(program, path=os.pathsep.join([here, os.environ.get("PATH", os.defpath)]))


def check(tool: Tool, timeout: float = 10.0) -> ToolStatus:
    """Find one tool and ask its version; never raises."""

    def status(state: str, version: str | None = None, path: str | None = None, detail: str = "") -> ToolStatus:
        return ToolStatus(tool.name, state, version, path, detail, tool.needed_for, tool.debian_package)

    argv = [sys.executable if a == "{python}" else a for a in tool.argv]
    path = argv[0] if tool.argv[0] == "{python}" else _which(argv[0])
    if path is None:
        return status("missing", detail=f"'{argv[0]}' is not on PATH")
    argv[0] = path
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return status("broken", path=path, detail=f"no answer to '{' '.join(tool.argv)}' within {timeout:g} s")
    except OSError as exc:
        return status("broken", path=path, detail=f"cannot run: {exc.strerror or exc}")
    output = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    match = _VERSION.search(output)
    if tool.argv[0] == "{python}" and proc.returncode != 0:
        first = output.strip().splitlines()[-1] if output.strip() else f"exit status {proc.returncode}"
        return status("missing", detail=first)
    if match:
        return status("found", version=match.group(1), path=path)
    first = output.strip().splitlines()[0] if output.strip() else "no output"
    return status("broken", path=path, detail=f"exit status {proc.returncode}, no version in output: {first[:120]}")


def check_all(tools: tuple[Tool, ...] = TOOLS, timeout: float = 10.0) -> list[ToolStatus]:
    """Check every tool in parallel (some, like slurmctld, are slow to answer)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda t: check(t, timeout), tools))


def _core_line() -> str:
    try:
        from . import _core
    except ImportError as exc:  # a broken build must still let doctor report it
        return f"native core: BROKEN ({exc})"
    features = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in _core.cpu_features().items())
    return f"native core: {_core.openssl_version()}; {features}"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `wrapgen doctor` to the CLI."""
    p = subparsers.add_parser(
        "doctor",
        help="list the external tools wrapgen uses: found or missing, versions, what is lost",
        description="Check each external tool wrapgen uses and say what is lost without it. Always exits 0 "
        "unless --strict is given and something is missing or broken.",
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--strict", action="store_true", help="exit 1 if any tool is missing or broken")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each tool (default 10)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from . import __version__

    results = check_all(timeout=args.timeout)
    if args.json:
        print(json.dumps({"wrapgen": __version__, "python": sys.version.split()[0],
                          "tools": [asdict(r) for r in results]}, indent=2))
    else:
        print(f"wrapgen {__version__} on Python {sys.version.split()[0]} ({sys.executable})")
        print(_core_line())
        width = max(len(r.name) for r in results)
        for r in results:
            if r.state == "found":
                print(f"  {r.name:<{width}}  found    {r.version:<10} {r.path}")
            else:
                print(f"  {r.name:<{width}}  {r.state.upper():<7}  {'':<10} {r.detail}")
                print(f"  {'':<{width}}           lost without it: {r.needed_for} (install: {r.debian_package})")
    bad = [r for r in results if r.state != "found"]
    return 1 if (args.strict and bad) else 0
