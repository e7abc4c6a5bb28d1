"""Typed settings models (issue 12): the CLI's options, the library's keywords and `wrapgen schema --settings`
come from one model per runtime surface, and a mistake names the option as the command line spells it."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import jsonschema
import pytest

from wrapgen.errors import UsageError
from wrapgen.settings import KNOWN, add_options, from_args, json_schema


def _model(name: str):
    from wrapgen.settings import _parser

    return _parser(KNOWN[name])


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_schema_is_valid_and_names_every_option(name) -> None:
    schema = json_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    model = _model(name)
    assert set(schema["properties"]) == set(model.fields())
    # the defaults validate against the schema, and a wrong type does not
    defaults = {k: v.default for k, v in model.fields().items() if not v.required}
    required = {k: "/tmp" for k, v in model.fields().items() if v.required}
    jsonschema.validate(json.loads(json.dumps(model(**defaults, **required).to_json())), schema)
    first = next(k for k, v in schema["properties"].items() if v.get("type") == "integer")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**required, first: "many"}, schema)


@pytest.mark.parametrize("command, name", [("url-copy", "url-copy"), ("gridftp-server", "gridftp-server"),
                                           ("serve", "serve"), ("jobmanager", "jobmanager")])
def test_cli_help_lists_every_option_of_the_model(command, name) -> None:
    r = subprocess.run([sys.executable, "-m", "wrapgen", command, "--help"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for field in _model(name).fields().values():
        for flag in field.flags:
            assert flag in r.stdout, f"{command} --help lacks {flag}"


def test_schema_command_prints_the_settings() -> None:
    r = subprocess.run([sys.executable, "-m", "wrapgen", "schema", "--settings", "url-copy"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["properties"]["parallel"]["maximum"] == 64
    r = subprocess.run([sys.executable, "-m", "wrapgen", "schema", "--settings", "nope"], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "expected one of gridftp-server, jobmanager, serve, url-copy" in r.stderr


def test_options_round_trip_and_mistakes_name_the_flag() -> None:
    from wrapgen.urls.settings import CopySettings

    p = argparse.ArgumentParser()
    add_options(p, CopySettings)
    s = from_args(CopySettings, p.parse_args(["-p", "8", "-nodcau", "-tcp-bs", "4M", "-sync-level", "3"]))
    assert (s.parallel, s.dcau, s.tcp_buffer, s.sync_level, s.checksum) == (8, False, 4 << 20, 3, "MD5")
    assert from_args(CopySettings, p.parse_args([])) == CopySettings()  # absent options: the model's defaults
    with pytest.raises(UsageError, match=r"^-sync-level 7: expected 0 to 3$"):
        from_args(CopySettings, p.parse_args(["-sync-level", "7"]))
    with pytest.raises(UsageError, match="-dcpriv encrypts"):
        CopySettings.of(private=True, dcau=False)
    with pytest.raises(UsageError, match="paralel: not an option; expected one of parallel"):
        CopySettings.of(paralel=2)
    with pytest.raises(UsageError, match="-rst-retries -1: expected 0 or more"):
        CopySettings.of(retries=-1)
    with pytest.raises(UsageError, match=r"^-p 'many': expected an integer; -cd 1: expected true or false$"):
        CopySettings(parallel="many", mkdirs=1)  # direct construction is checked too, every mistake named
    assert CopySettings.of(http_timeout=5).http_timeout == 5.0 and isinstance(CopySettings.of(http_timeout=5)
                                                                               .http_timeout, float)
    with pytest.raises(Exception):  # frozen: a run's settings do not change under it
        s.parallel = 2  # type: ignore[misc]


def test_gridftp_server_from_settings_serves(tmp_path) -> None:
    from wrapgen.gridftp.client import Client
    from wrapgen.gridftp.server import Server
    from wrapgen.gridftp.settings import ServerSettings

    (tmp_path / "f.txt").write_bytes(b"hello")
    with pytest.raises(UsageError, match="--anonymous-access and --anonymous-write need --anonymous"):
        ServerSettings.of(root=tmp_path, anonymous_access="write")
    with pytest.raises(UsageError, match="--root is required"):
        ServerSettings.of()
    with pytest.raises(UsageError, match=r"--port-range \[1, 2, 3\]: expected 2 values"):
        ServerSettings.of(root=tmp_path, port_range=[1, 2, 3])
    assert ServerSettings.of(root=str(tmp_path), port_range=[5000, 5010]).port_range == (5000, 5010)
    assert ServerSettings.of(root=str(tmp_path)).root == tmp_path  # a str path becomes a Path
    srv = Server.from_settings(ServerSettings.of(root=tmp_path, port=0, anonymous=True, max_per_address=3)).start()
    try:
        assert srv.max_per_address == 3 and srv.anonymous_access == "read"
        with Client("127.0.0.1", srv.port, "anonymous", "x") as c:
            assert c.size("/f.txt") == 5
    finally:
        srv.stop()
