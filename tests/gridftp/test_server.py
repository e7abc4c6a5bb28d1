"""The GridFTP server in stream mode: RFC 959/3659 commands with ftplib and globus-url-copy (GCT's client),
logins, the jail, and every bad input from the issue answered with a reply, not a crash."""

from __future__ import annotations

import ftplib
import hashlib
import io
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from wrapgen.gridftp.auth import set_password
from wrapgen.gridftp.server import Server


@pytest.fixture
def root(tmp_path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    (r / "hello.txt").write_bytes(b"hello\n")
    (r / "sub").mkdir()
    (r / "sub" / "deep.bin").write_bytes(os.urandom(1000))
    (tmp_path / "secret.txt").write_text("outside the root\n")
    os.symlink(tmp_path / "secret.txt", r / "escape")
    os.symlink("/etc", r / "etc-link")
    return r


@pytest.fixture
def server(root):
    with Server(root, anonymous=True, anonymous_access="full") as srv:
        yield srv


def client(srv: Server, login: bool = True) -> ftplib.FTP:
    f = ftplib.FTP(timeout=30)
    f.connect("127.0.0.1", srv.port)
    if login:
        f.login()
    return f


def raw(srv: Server) -> tuple[socket.socket, io.BufferedReader]:
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    r = s.makefile("rb")
    assert r.readline().startswith(b"220 ")
    return s, r


def reply(s: socket.socket, r, line: bytes) -> bytes:
    s.sendall(line + b"\r\n")
    out = r.readline()
    while out[3:4] == b"-":
        out = r.readline()
    return out


@pytest.mark.parametrize("size", [0, 1, 1024 * 1024 + 1])
def test_get_and_put_with_ftplib(server, root, size) -> None:
    data = os.urandom(size)
    f = client(server)
    f.storbinary("STOR up.bin", io.BytesIO(data))
    assert (root / "up.bin").read_bytes() == data
    out = io.BytesIO()
    f.retrbinary("RETR up.bin", out.write)
    assert out.getvalue() == data
    assert f.size("up.bin") == size
    assert f.sendcmd("CKSM MD5 0 -1 up.bin") == f"213 {hashlib.md5(data).hexdigest()}"
    f.quit()


def test_directories_listings_and_renames(server, root) -> None:
    f = client(server)
    assert f.pwd() == "/"
    f.mkd("new")
    f.cwd("new")
    assert f.pwd() == "/new"
    f.storbinary("STOR a", io.BytesIO(b"abc"))
    f.rename("a", "b")
    assert f.nlst() == ["b"]
    f.cwd("..")
    names = {n: facts for n, facts in f.mlsd()}
    assert names["hello.txt"]["size"] == "6" and names["sub"]["type"] == "dir" and names["."]["type"] == "cdir"
    assert "escape" not in names and "etc-link" not in names  # links out of the root are not shown
    lines = []
    f.retrlines("LIST", lines.append)
    assert any(line.startswith("-rw") and line.endswith(" hello.txt") for line in lines)
    assert f.sendcmd("MDTM hello.txt").startswith("213 2")
    f.delete("new/b")
    f.rmd("new")
    assert not (root / "new").exists()
    assert f.sendcmd("MLST hello.txt").splitlines()[1].endswith("; /hello.txt")
    f.quit()


def test_rest_resumes_a_download_and_an_upload(server, root) -> None:
    data = os.urandom(10000)
    (root / "big").write_bytes(data)
    f = client(server)
    out = io.BytesIO()
    f.retrbinary("RETR big", out.write, rest=4000)
    assert out.getvalue() == data[4000:]
    (root / "partial").write_bytes(data[:3000])  # an interrupted upload
    f.storbinary("STOR partial", io.BytesIO(data[3000:]), rest=3000)
    assert (root / "partial").read_bytes() == data
    with pytest.raises(ftplib.error_perm, match="554 REST 20000 is beyond the end of big"):
        f.retrbinary("RETR big", out.write, rest=20000)
    f.quit()


@pytest.mark.parametrize("path", ["../secret.txt", "/../secret.txt", "escape", "sub/../../secret.txt",
                                  "etc-link/passwd", "/etc/passwd"])
def test_the_root_is_a_jail(server, root, path) -> None:
    f = client(server)
    with pytest.raises(ftplib.error_perm, match=r"^550 .*no such file or directory"):
        f.retrbinary(f"RETR {path}", io.BytesIO().write)
    f.quit()
    assert (root.parent / "secret.txt").read_text() == "outside the root\n"


@pytest.mark.parametrize("path", ["escape", "etc-link/evil", "../../tmp-evil"])
def test_nothing_is_written_outside_the_root(server, root, path) -> None:
    f = client(server)
    try:
        f.storbinary(f"STOR {path}", io.BytesIO(b"x"))
    except ftplib.error_perm as exc:
        assert str(exc).startswith("550 ")
    else:  # '..' stops at the root, as in a chroot: the file lands inside it
        assert path.startswith("..") and (root / "tmp-evil").read_bytes() == b"x"
    f.quit()
    assert (root.parent / "secret.txt").read_text() == "outside the root\n"
    assert not Path("/etc/evil").exists() and not (root.parent.parent / "tmp-evil").exists()


def test_bad_input_gets_replies(server) -> None:
    s, r = raw(server)
    assert reply(s, r, b"RETR hello.txt").startswith(b"530 Please login")
    assert reply(s, r, b"\x00\xff garbage \x01").startswith(b"500 ")
    assert reply(s, r, b"X" * 10000).startswith(b"500 command line too long")
    assert reply(s, r, b"NOOP").startswith(b"200 ")  # still in step after the overlong line
    assert reply(s, r, b"USER anonymous").startswith(b"331 ")
    assert reply(s, r, b"PASS a@b").startswith(b"230 ")
    assert reply(s, r, b"MODE Z").startswith(b"504 MODE Z: unknown mode")
    assert reply(s, r, b"TYPE X").startswith(b"504 TYPE X: only A and I")
    assert reply(s, r, b"STRU R").startswith(b"504 ")
    assert reply(s, r, b"REST abc").startswith(b"501 REST abc: expected a byte offset")
    assert reply(s, r, b"PORT 1,2,3").startswith(b"501 PORT 1,2,3: expected h1,h2,h3,h4,p1,p2")
    assert reply(s, r, b"PORT 10,0,0,1,20,0").startswith(b"501 data connections go to the client's own address")
    assert reply(s, r, b"EPRT |1|192.0.2.7|5000|").startswith(b"501 data connections go to the client's own")
    assert reply(s, r, b"PORT 127,0,0,1,0,21").startswith(b"501 port 21 is not allowed")
    assert reply(s, r, b"RETR hello.txt").startswith(b"425 use PASV")
    assert reply(s, r, b"CKSM MD5 x -1 hello.txt").startswith(b"501 CKSM: offset")
    assert reply(s, r, b"CKSM CRC99 0 -1 hello.txt").startswith(b"504 unknown checksum algorithm")
    assert reply(s, r, b"SITE CHMOD 999 hello.txt").startswith(b"501 SITE CHMOD")
    assert reply(s, r, b"RNTO x").startswith(b"503 send RNFR first")
    assert reply(s, r, b"QUIT").startswith(b"221 ")
    s.close()
    client(server).quit()  # the server still serves


def test_logins(root, tmp_path) -> None:
    pw = tmp_path / "passwd"
    set_password(pw, "jane", "s3cret", home="sub")
    assert oct(pw.stat().st_mode & 0o777) == "0o600"
    with Server(root, password_file=pw) as srv:
        f = client(srv, login=False)
        with pytest.raises(ftplib.error_perm, match="530 Login incorrect"):
            f.login("jane", "wrong")
        f = client(srv, login=False)
        with pytest.raises(ftplib.error_perm, match="530 Login incorrect"):
            f.login("anonymous", "a@b")  # anonymous is off unless asked for
        f = client(srv, login=False)
        assert f.login("jane", "s3cret").startswith("230 ")
        assert f.nlst() == ["deep.bin"]  # her root is sub/
        assert f.sendcmd("SITE WHOAMI") == "200 jane"
        f.quit()
    with pytest.raises(Exception, match="no way to log in"):
        Server(root)


def test_a_client_that_disappears_mid_transfer_and_a_stray_connect(server, root) -> None:
    (root / "large").write_bytes(os.urandom(64 * 1024 * 1024))
    s, r = raw(server)
    reply(s, r, b"USER anonymous")
    reply(s, r, b"PASS x")
    pasv = reply(s, r, b"PASV").decode()
    nums = [int(x) for x in pasv[pasv.index("(") + 1:pasv.index(")")].split(",")]
    port = nums[4] * 256 + nums[5]
    s.sendall(b"RETR large\r\n")
    data = socket.create_connection(("127.0.0.1", port))
    data.recv(65536)
    data.close()  # the client vanishes mid-transfer
    s.close()
    # A second session is unaffected, and a stray connect to its data port does not take the transfer's place.
    f = client(server)
    f.set_pasv(True)
    host, port = f.makepasv()
    stray = socket.create_connection((host, port))
    stray.close()
    conn = socket.create_connection((host, port))
    f.sendcmd("TYPE I")
    f.putcmd("RETR hello.txt")
    assert f.getresp().startswith("150")
    assert conn.recv(100) == b"hello\n"
    conn.close()
    assert f.getresp().startswith("226")
    f.quit()


def test_many_sessions_and_a_slow_client_does_not_block_others(server) -> None:
    slow = socket.create_connection(("127.0.0.1", server.port))  # connects and says nothing
    results = []

    def work() -> None:
        f = client(server)
        out = io.BytesIO()
        f.retrbinary("RETR hello.txt", out.write)
        results.append(out.getvalue())
        f.quit()

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [b"hello\n"] * 20
    slow.close()


def guc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["globus-url-copy", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("size", [0, 1, 1024 * 1024 + 1])
def test_globus_url_copy_get_and_put_in_stream_mode(server, root, tmp_path, size) -> None:
    data = os.urandom(size)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    url = f"ftp://127.0.0.1:{server.port}"
    r = guc(f"file://{src}", f"{url}/put.bin")
    assert r.returncode == 0, r.stderr
    assert (root / "put.bin").read_bytes() == data
    r = guc("-verify-checksum", f"{url}/put.bin", f"file://{tmp_path}/got.bin")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "got.bin").read_bytes() == data


def test_globus_url_copy_recursive_and_list(server, root, tmp_path) -> None:
    url = f"ftp://127.0.0.1:{server.port}"
    r = guc("-r", "-cd", f"{url}/sub/", f"file://{tmp_path}/tree/")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "tree" / "deep.bin").read_bytes() == (root / "sub" / "deep.bin").read_bytes()
    r = guc("-list", f"{url}/")
    names = r.stdout.split()
    assert r.returncode == 0 and "hello.txt" in names and ("sub" in names or "sub/" in names), r.stdout + r.stderr
    r = guc(f"{url}/../secret.txt", f"file://{tmp_path}/stolen")
    assert r.returncode != 0 and "550" in r.stderr, r.stderr
    stolen = tmp_path / "stolen"  # globus-url-copy may leave an empty destination behind
    assert not stolen.exists() or stolen.read_bytes() == b""


def test_ascii_uploads_turn_crlf_into_lf_even_across_reads(server, root) -> None:
    import socket as _socket

    from wrapgen.gridftp import datachan

    a, b = _socket.socketpair()
    chunks = [b"one\r", b"\ntwo\r\n", b"three\r"]  # CRLF split between two reads, and a final lone CR
    for c in chunks:
        a.sendall(c)
        time.sleep(0.05)  # separate reads on the other side
    a.close()
    out = io.BytesIO()
    datachan.receive_file(b, out, ascii=True)
    assert out.getvalue() == b"one\ntwo\nthree\r"
    f = client(server)
    f.storlines("STOR text.txt", io.BytesIO(b"a\nb\n"))
    assert (root / "text.txt").read_bytes() == b"a\nb\n"
    f.quit()


def test_gridftp_extensions_in_stream_mode_and_their_refusals(server, root) -> None:
    data = os.urandom(5000)
    (root / "d.bin").write_bytes(data)
    f = client(server)
    out = io.BytesIO()
    f.retrbinary("RETR d.bin", out.write, rest="0-1000")  # GridFTP ranges already transferred: resume at 1000
    assert out.getvalue() == data[1000:]
    with pytest.raises(ftplib.error_perm, match="501 REST 0-10,20-30: the ranges leave a gap at 10-20"):
        f.sendcmd("REST 0-10,20-30")
    out = io.BytesIO()
    f.retrbinary("ERET P 100 50 d.bin", out.write)
    assert out.getvalue() == data[100:150]
    f.storbinary("ESTO A 4000 d.bin", io.BytesIO(b"Z" * 10))
    assert (root / "d.bin").read_bytes() == data[:4000] + b"Z" * 10 + data[4010:]
    for bad, message in [("ERET X 1 2 d.bin", "501 ERET: expected 'P <offset> <length> <path>'"),
                         ("ERET P -1 2 d.bin", "501 ERET: expected"),
                         ("ESTO A x d.bin", "501 ESTO: expected 'A <offset> <path>'"),
                         ("SPOR 127,0,0,1,4,1 127,0,0,1,4,2", "501 SPOR: this server is not striped"),
                         ("ALLO lots", "501 ALLO lots: expected a size in bytes")]:
        with pytest.raises(ftplib.error_perm, match=message):
            f.sendcmd(bad)
    with pytest.raises(ftplib.error_perm, match="554 ERET offset 9999 is beyond the end of d.bin"):
        f.retrbinary("ERET P 9999 1 d.bin", out.write)
    reply = f.sendcmd("SPAS")
    lines = reply.splitlines()
    assert lines[0] == "229-Entering Striped Passive Mode" and lines[-1] == "229 End", reply
    assert len(lines[1].strip().split(",")) == 6
    f.quit()


def test_sbuf_sets_the_data_connections_tcp_buffers(server) -> None:
    f = client(server)
    with pytest.raises(ftplib.error_perm, match="501 SBUF lots: expected a number of bytes"):
        f.sendcmd("SBUF lots")
    f.sendcmd("SBUF 32768")
    f.sendcmd("PASV")
    (session,) = server._sessions
    assert session.passive.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 2 * 32768  # Linux doubles it
    f.sendcmd("SBUF 0")  # back to the kernel's autotuning
    f.sendcmd("PASV")
    assert session.passive.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) != 2 * 32768
    f.quit()


def test_the_command_table_matches_the_handlers_and_generates_help(server) -> None:
    """Every verb in the table has its handler and every handler a table entry (issue 12); HELP comes from it."""
    from wrapgen.gridftp.commands import COMMANDS
    from wrapgen.gridftp.session import Session

    handlers = {n[4:] for n in dir(Session) if n.startswith("cmd_")}
    assert handlers == set(COMMANDS)
    s, r = raw(server)
    assert reply(s, r, b"HELP CKSM").startswith(b"214 Syntax: CKSM <algorithm> <offset> <length> <path>")
    assert reply(s, r, b"HELP NOPE").startswith(b"502 ")
    s.sendall(b"HELP\r\n")
    first = r.readline()
    assert first.startswith(b"214-") and b"recognized" in first
    verbs = r.readline().removeprefix(b"214-").split()
    assert set(v.decode() for v in verbs) == set(COMMANDS)
    assert r.readline().startswith(b"214 End")
    assert reply(s, r, b"STOR /x").startswith(b"530 ")  # login first, as the table says


def test_a_session_runs_over_a_socket_pair_from_its_policy(root) -> None:
    """Issue 12: a session needs only a frozen policy and a socket, no Server."""
    import socket as socketlib

    from wrapgen.gridftp.policy import SessionPolicy
    from wrapgen.gridftp.session import Session

    with socketlib.create_server(("127.0.0.1", 0)) as lsock:  # a connected TCP pair; no Server anywhere
        theirs = socketlib.create_connection(lsock.getsockname())
        ours, addr = lsock.accept()
    session = Session(SessionPolicy(root=root, anonymous=True), ours, addr)
    t = threading.Thread(target=session.run, daemon=True)
    t.start()
    r = theirs.makefile("rb")
    assert r.readline().startswith(b"220 ")
    assert reply(theirs, r, b"USER anonymous").startswith(b"331 ")
    assert reply(theirs, r, b"PASS x").startswith(b"230 ")
    assert reply(theirs, r, b"SIZE /hello.txt") == b"213 6\r\n"
    assert reply(theirs, r, b"DELE /hello.txt").startswith(b"550 ")  # the policy's anonymous access: read
    assert reply(theirs, r, b"QUIT").startswith(b"221 ")
    t.join(10)
    session.close()
    assert (root / "hello.txt").exists()
