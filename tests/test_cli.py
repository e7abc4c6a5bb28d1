"""The `wrapgen` command line: version, help, usage errors, and the checksum subcommand."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap

import pytest

import wrapgen
from wrapgen import cli


def test_version(run_cli) -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"wrapgen {wrapgen.__version__}"
    assert wrapgen.__version__ == "0.1.0"


def test_help_lists_the_registered_subcommands(run_cli) -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in ("doctor", "checksum"):
        assert command in proc.stdout


def test_the_console_script_is_installed() -> None:
    script = subprocess.run(
        [sys.executable, "-c", "import shutil,sys,os; print(shutil.which('wrapgen', path=os.path.dirname(sys.executable)))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert script != "None"
    proc = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("wrapgen ")


def test_unknown_subcommand_prints_usage_and_exits_2(run_cli) -> None:
    proc = run_cli("frobnicate")
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: wrapgen")
    assert "invalid choice: 'frobnicate'" in proc.stderr


def test_no_subcommand_is_a_usage_error(run_cli) -> None:
    proc = run_cli()
    assert proc.returncode == 2
    assert "a command is required" in proc.stderr


def test_checksum_prints_like_md5sum(run_cli, tmp_path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(b"hello\n")
    b.write_bytes(b"")
    proc = run_cli("checksum", str(a), str(b))
    assert proc.returncode == 0, proc.stderr
    md5sum = subprocess.run(["md5sum", str(a), str(b)], capture_output=True, text=True, check=True).stdout
    assert proc.stdout == md5sum


def test_checksum_range_and_algorithm(run_cli, tmp_path) -> None:
    f = tmp_path / "f.bin"
    f.write_bytes(bytes(range(256)) * 10)
    proc = run_cli("checksum", "-a", "sha256", "--offset", "100", "--length", "50", str(f))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == hashlib.sha256((bytes(range(256)) * 10)[100:150]).hexdigest()


def test_checksum_errors_name_the_file_and_exit_1(run_cli, tmp_path) -> None:
    good = tmp_path / "good"
    good.write_bytes(b"x")
    proc = run_cli("checksum", str(tmp_path / "missing"), str(good))
    assert proc.returncode == 1
    assert f"{tmp_path / 'missing'}: cannot open: No such file or directory" in proc.stderr
    assert proc.stdout.split()[0] == hashlib.md5(b"x").hexdigest()  # the other files are still done

    proc = run_cli("checksum", "-a", "crc64", str(good))
    assert proc.returncode == 1
    assert "wrapgen checksum: error: unknown checksum algorithm 'CRC64'; expected one of" in proc.stderr
    assert "Traceback" not in proc.stderr

    proc = run_cli("checksum", "--offset", "5", str(good))
    assert proc.returncode == 1
    assert "good: offset 5 is past the end of the file (1 bytes)" in proc.stderr


def test_a_command_whose_module_cannot_import_is_reported_not_fatal(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "wrapgen_broken_cmd.py").write_text("import no_such_module_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "wrapgen_broken_cmd"))
    assert cli.main(["wrapgen-broken-cmd"]) == 1
    err = capsys.readouterr().err
    assert "this command is unavailable: wrapgen_broken_cmd cannot be imported: No module named" in err
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0


def test_python_dash_m_wrapgen_works(tmp_path) -> None:
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent("""
        import runpy, sys
        sys.argv = ["wrapgen", "--version"]
        runpy.run_module("wrapgen", run_name="__main__")
    """))
    proc = subprocess.run([sys.executable, "-P", str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"wrapgen {wrapgen.__version__}"


def test_the_command_table_names_the_module_that_registers_each_command() -> None:
    import argparse
    import importlib

    seen = {}
    for module in cli.COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        seen.update({name: module for name in sub.choices})
    assert cli.COMMANDS == seen  # a command missing here would still work, but import everything to start
