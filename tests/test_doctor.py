"""`wrapgen doctor` reports every tool found/missing/broken and never crashes."""

from __future__ import annotations

import json
import stat
import sys

import pytest

from wrapgen import doctor

# The Makefile installs these; if one is missing here, CI's setup is broken and that must show.
INSTALLED_BY_MAKE = ("cmake", "ninja", "cc", "c++", "gfortran", "f2py", "globus-url-copy", "globus-gridftp-server")


def test_every_tool_the_issue_names_is_checked() -> None:
    names = {t.name for t in doctor.TOOLS}
    assert {"cmake", "cc", "c++", "gfortran", "f2py", "globus-url-copy", "globus-gridftp-server",
            "slurmctld", "munge", "gunicorn"} <= names
    for tool in doctor.TOOLS:
        assert tool.needed_for and tool.debian_package


def test_json_report_on_this_machine(run_cli) -> None:
    proc = run_cli("doctor", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    by_name = {t["name"]: t for t in report["tools"]}
    assert set(by_name) == {t.name for t in doctor.TOOLS}
    for name in INSTALLED_BY_MAKE:
        assert by_name[name]["state"] == "found", by_name[name]
        assert by_name[name]["version"][0].isdigit()
    assert by_name["globus-url-copy"]["version"].startswith("10.")
    assert by_name["globus-gridftp-server"]["version"].startswith("13.")


def test_text_report_names_the_core_and_what_is_lost(run_cli, tmp_path) -> None:
    proc = run_cli("doctor", env={"PATH": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "native core: OpenSSL" in proc.stdout
    assert "gfortran" in proc.stdout and "MISSING" in proc.stdout
    assert "lost without it: wrapping Fortran 77/90 kernels (install: gfortran)" in proc.stdout


def test_empty_path_reports_missing_tools_without_crashing(run_cli, tmp_path) -> None:
    proc = run_cli("doctor", "--json", env={"PATH": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    by_name = {t["name"]: t for t in json.loads(proc.stdout)["tools"]}
    for name in ("cmake", "gfortran", "globus-url-copy", "slurmctld", "munge"):
        assert by_name[name]["state"] == "missing"
        assert by_name[name]["detail"] == f"'{name}' is not on PATH"
    proc = run_cli("doctor", "--strict", env={"PATH": str(tmp_path)})
    assert proc.returncode == 1


def _script(directory, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def odd_tools(tmp_path):
    _script(tmp_path, "cmake", "exec /bin/sleep 30")                               # never answers
    _script(tmp_path, "gfortran", "echo 'garbage without digits'; exit 3")        # no version
    _script(tmp_path, "ninja", "kill -SEGV $$")                                   # crashes
    _script(tmp_path, "munge", "echo 'munge-0.5.15 (2022-12-14)' >&2; exit 1")    # version on stderr, rc 1
    (tmp_path / "c++").write_text("not executable")                               # not a program
    return tmp_path


def test_hanging_crashing_and_odd_tools_are_reported(odd_tools, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(odd_tools))
    by_name = {s.name: s for s in doctor.check_all(timeout=1.0)}
    assert by_name["cmake"].state == "broken"
    assert "no answer to 'cmake --version' within 1 s" in by_name["cmake"].detail
    assert by_name["gfortran"].state == "broken"
    assert "exit status 3, no version in output: garbage without digits" in by_name["gfortran"].detail
    assert by_name["ninja"].state == "broken"
    assert by_name["munge"].state == "found" and by_name["munge"].version == "0.5.15"
    assert by_name["c++"].state == "missing"


def test_f2py_is_looked_for_in_the_running_interpreter(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    status = doctor.check(next(t for t in doctor.TOOLS if t.name == "f2py"))
    assert status.state == "found" and status.path == sys.executable
    fake = doctor.Tool("f2py", ("{python}", "-m", "no_such_module_for_doctor"), "x", "y")
    assert doctor.check(fake).state == "missing"
