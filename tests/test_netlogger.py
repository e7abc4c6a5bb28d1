"""NetLogger BP transfer logs from our GridFTP server (--log-transfer) and url-copy (-log-transfer): one
.start/.end pair per transfer with the guid given through NETLOGGER_GUID."""

from __future__ import annotations

import subprocess
import sys

from wrapgen.gridftp.server import Server
from wrapgen.netlogger import read


def test_server_and_url_copy_log_each_transfer(tmp_path, monkeypatch) -> None:
    import wrapgen

    root = tmp_path / "root"
    root.mkdir()
    (root / "a.bin").write_bytes(b"x" * 300_000)
    monkeypatch.setenv("NETLOGGER_GUID", "ab" * 16)
    server_log, client_log = tmp_path / "server.log", tmp_path / "client.log"
    with Server(root, anonymous=True, anonymous_access="full", transfer_log=server_log) as srv:
        url = f"ftp://127.0.0.1:{srv.port}"
        wrapgen.copy(f"{url}/a.bin", f"file://{tmp_path}/b.bin", parallel=4, log_transfer=str(client_log))
        wrapgen.copy(f"file://{tmp_path}/b.bin", f"{url}/c.bin", log_transfer=str(client_log))
        failed = subprocess.run([sys.executable, "-m", "wrapgen", "url-copy", "-log-transfer", str(client_log),
                                 f"{url}/missing.bin", f"file://{tmp_path}/m.bin"], capture_output=True, text=True)
        assert failed.returncode != 0
    srv_events = [e for e in read(server_log) if e["event"].endswith(".end")]
    assert [(e["type"], e["file"], e["nbytes"], e["status"]) for e in srv_events[:2]] == [
        ("RETR", "/a.bin", "300000", "0"), ("STOR", "/c.bin", "300000", "0")]
    assert srv_events[0]["streams"] == "4" and srv_events[0]["mode"] == "E" and srv_events[0]["code"] == "226"
    assert srv_events[2]["type"] == "RETR" and srv_events[2]["status"] == "-1" and srv_events[2]["code"] == "550"
    cli = list(read(client_log))
    assert {e["guid"] for e in cli} | {e["guid"] for e in read(server_log)} == {"ab" * 16}
    ends = [e for e in cli if e["event"] == "wrapgen.url-copy.transfer.end"]
    assert [e["status"] for e in ends] == ["0", "0", "-1"] and ends[0]["nbytes"] == "300000"
    assert "missing.bin" in ends[2]["msg"]
