"""A bounded fuzz of the GridFTP command grammar (seconds, a fixed seed): regression guard for issue 11.
Every command gets a numbered reply, never 451 'internal server error' (a bug) nor a traceback; the server
keeps serving and nothing outside its root changes."""

from __future__ import annotations

import logging
import os
import random
import socket

from wrapgen.gridftp.server import Server

VERBS = ["USER", "PASS", "CWD", "CDUP", "PWD", "MKD", "RMD", "DELE", "RNFR", "RNTO", "SIZE", "MDTM", "MFMT", "MLST",
         "MLSD", "LIST", "NLST", "STAT", "CKSM", "SITE", "TYPE", "MODE", "STRU", "SBUF", "ALLO", "DCAU", "PBSZ",
         "PROT", "REST", "PASV", "EPSV", "SPAS", "SPOR", "PORT", "EPRT", "OPTS", "FEAT", "HELP", "NOOP", "SYST",
         "ERET", "ESTO", "RETR", "STOR", "APPE", "ABOR", "AUTH", "ADAT", "ENC", "MIC", "XYZZY"]
ATOMS = ["", "/", ".", "..", "../..", "/../../etc/passwd", "~", "~/x", "a/b/c", "x" * 300, "\u2028", "é", "%s%n",
         "-1", "0", "1", str(1 << 63), str(1 << 64), "99999999999999999999999", "-5", "E", "S", "A", "I", "P", "C",
         "N", "127,0,0,1,4,1", "|1|127.0.0.1|1025|", "|2|::1|1|", "MD5", "ADLER32", "CHMOD", "777", "0-100,200-300",
         "Parallelism=4,4,4;", "GSSAPI", "AAAA", "20240101000000", "f", "d", "link", "out"]


def _line(rng: random.Random) -> bytes:
    words = [rng.choice(VERBS if rng.random() < 0.95 else ATOMS)]
    words += [rng.choice(ATOMS) for _ in range(rng.randint(0, 4))]
    text = " ".join(words)
    if rng.random() < 0.05:
        text = text[: rng.randint(0, len(text))] + rng.choice(["\0", "\r", "\xff", "\n\n", "  "])
    return text.encode("utf-8", "surrogateescape")[:5000] + b"\r\n"


def test_fuzzed_commands_get_replies_and_leave_the_server_whole(tmp_path, caplog) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "d").mkdir(parents=True)
    (root / "f").write_bytes(b"data")
    outside.mkdir()
    (outside / "secret").write_text("s")
    os.symlink(outside, root / "out")
    before = sorted((p.name, p.stat().st_mode, p.stat().st_size) for p in outside.iterdir())
    rng = random.Random(20261201)
    caplog.set_level(logging.WARNING, logger="wrapgen.gridftp")
    with Server(root, anonymous=True, anonymous_access="write", login_timeout=30, data_timeout=1) as srv:
        for session in range(40):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=3)
            r = s.makefile("rb")
            assert r.readline().startswith(b"220")
            if session % 2:
                s.sendall(b"USER anonymous\r\nPASS x\r\n")
                assert r.readline().startswith(b"331") and r.readline().startswith(b"230")
            for _ in range(30):
                s.sendall(_line(rng))
                try:
                    reply = r.readline()
                    while reply[3:4] == b"-" or reply.startswith(b" "):
                        reply = r.readline()
                except TimeoutError:
                    break  # a transfer waiting for a data connection: this session is done
                if not reply:
                    break  # the server ended this session (QUIT, a broken protected channel)
                assert reply[:3].isdigit(), reply
                assert not reply.startswith(b"451 internal server error"), reply
            s.close()
        ok = socket.create_connection(("127.0.0.1", srv.port), timeout=10).makefile("rb").readline()
        assert ok.startswith(b"220")
    assert sorted((p.name, p.stat().st_mode, p.stat().st_size) for p in outside.iterdir()) == before
    assert not [rec for rec in caplog.records if rec.exc_info], [rec.getMessage() for rec in caplog.records]
