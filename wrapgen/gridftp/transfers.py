"""The session's transfer commands: parameters (TYPE, MODE, SBUF, DCAU, PROT, REST...), data connections
(PASV/EPSV/SPAS, PORT/EPRT/SPOR), listings, RETR/ERET, STOR/APPE/ESTO, and ABOR during a transfer."""

from __future__ import annotations

import errno
import logging
import os
import secrets
import select
import socket
import stat
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .. import _core
from . import modee
from .datachan import DataError, Passive, receive_file, send_file, send_lines
from .jail import Jail, PathRefused, Place
from .listing import entries, facts, ls_line
from .modee import Channels
from .replies import Keep, Reply, number

if TYPE_CHECKING:
    from .policy import SessionPolicy

log = logging.getLogger("wrapgen.gridftp")

WATCH_ABOR_FROM = 8 << 20  # bytes: smaller transfers are not watched for ABOR (see abortable)


class TransferCommands:
    """Mixin for Session: transfer parameters, data connections and transfers."""

    policy: SessionPolicy
    conn: socket.socket
    jail: Jail | None
    local_ip: str
    client_ip: str
    identity: str | None
    type_ascii: bool
    mode_e: bool
    parallel: int
    channels: Channels
    passive: Passive | None
    active: tuple[str, int] | None
    rest: int
    allo: int | None
    dcau: str | None
    prot: str
    aborted: bool
    protected: object | None
    written: set[str]
    _stream_conn: socket.socket | None

    if TYPE_CHECKING:  # provided by Session
        def secure(self): ...
        def send(self, code: int, text: str, hold: bool = False) -> None: ...
        def perf_marker(self, moved: int, hold: bool = False) -> None: ...
        def place(self, arg: str, *, follow: bool = True, must_exist: bool = False) -> Place: ...
        def may_change(self, p: Place, verb: str, creating: bool = False) -> None: ...
        def data_connection(self) -> socket.socket: ...

    # --- transfer parameters --------------------------------------------------------------------------
    def cmd_TYPE(self, arg: str) -> None:
        t = arg.upper().split()
        if t and t[0] == "I" or t == ["L", "8"]:
            self.type_ascii = False
            raise Reply(200, "Type set to I.")
        if t and t[0] == "A":
            self.type_ascii = True
            raise Reply(200, "Type set to A.")
        raise Reply(504, f"TYPE {arg[:20]}: only A and I are supported")

    def cmd_MODE(self, arg: str) -> None:
        if arg.upper() == "S":
            self.mode_e = False
            self.channels.drop()
            raise Reply(200, "Mode set to S.")
        if arg.upper() == "E":
            self.mode_e = True
            raise Reply(200, "Mode set to E.")
        raise Reply(504, f"MODE {arg[:20]}: unknown mode; use S")

    def cmd_STRU(self, arg: str) -> None:
        if arg.upper() == "F":
            raise Reply(200, "Structure set to F.")
        raise Reply(504, f"STRU {arg[:20]}: only F (file) is supported")

    def cmd_SBUF(self, arg: str) -> None:
        size = number(arg, f"SBUF {arg[:20]}: expected a number of bytes (0 for the system's default, at most "
                            "1 GiB)", 0, 1 << 30)
        if size != self.channels.bufsize:
            self.channels.drop()  # cached connections have the old buffers
        self.channels.bufsize = size or None
        raise Reply(200, "SBUF command successful.")

    def cmd_ALLO(self, arg: str) -> None:
        self.allo = number(arg.split()[0], f"ALLO {arg[:20]}: expected a size in bytes", None) \
            if arg.strip() else None
        self.send(200, "ALLO command successful.")
        raise Keep()

    def cmd_DCAU(self, arg: str) -> None:
        mode = arg.upper()
        if mode == "N":
            if self.prot == "P":
                raise Reply(503, "DCAU N: PROT P is in force and needs DCAU A; send PROT C first")
            self.dcau = "N"
            self.channels.drop()  # cached connections were authenticated (or not) under the old setting
            raise Reply(200, "DCAU N.")
        if mode == "A":
            if self.identity is None:
                raise Reply(504, "DCAU A: data channel authentication needs a GSI login (AUTH GSSAPI); use DCAU N")
            self.dcau = "A"
            self.channels.drop()
            raise Reply(200, "DCAU A.")
        raise Reply(504, f"DCAU {arg[:30]}: expected N or A (S <subject> is not supported)")

    def cmd_PBSZ(self, arg: str) -> None:
        size = number(arg, f"PBSZ {arg[:20]}: expected a buffer size in bytes")
        raise Reply(200, f"PBSZ={size}")

    def cmd_PROT(self, arg: str) -> None:
        level = arg.upper()
        if level == "C":
            self.prot = "C"
            self.channels.drop()
            raise Reply(200, "Protection level set to Clear.")
        if level == "P":
            if self.identity is None:
                raise Reply(536, "PROT P: private data channels need a GSI login (AUTH GSSAPI)")
            if (self.dcau or "A") != "A":
                raise Reply(536, "PROT P: private data channels need DCAU A (the TLS session that encrypts them)")
            self.prot = "P"
            self.channels.drop()
            raise Reply(200, "Protection level set to Private.")
        raise Reply(536, f"PROT {arg[:20]}: supported levels are C (clear) and P (private)")

    def cmd_REST(self, arg: str) -> None:
        # A byte offset (RFC 3659), or GridFTP's ranges already transferred ("0-1000,2000-5000", from 111
        # markers): the transfer resumes after the range that starts at 0, if only one gap is left.
        message = f"REST {arg[:30]}: expected a byte offset or ranges like 0-1000"
        try:
            if "-" in arg:
                ranges = sorted(tuple(int(x) for x in r.split("-")) for r in arg.split(","))
                end = 0
                for a, b in ranges:
                    if a < 0 or b < a:
                        raise ValueError
                    if a > end:
                        raise Reply(501, f"REST {arg[:60]}: the ranges leave a gap at {end}-{a}; only a "
                                         "restart after one range from 0 is supported")
                    end = max(end, b)
                offset = end
            else:
                offset = number(arg, message, 0, (1 << 63) - 1)
        except ValueError:
            raise Reply(501, message) from None
        self.rest = offset
        self.send(350, f"Restarting at {offset}. Send STORE or RETRIEVE to initiate transfer.")
        raise Keep()

    # --- data connections -----------------------------------------------------------------------------
    def _listen(self) -> Passive:
        if self.passive is not None:
            self.passive.close()
        self.channels.drop()
        self.active = None
        self.passive = Passive(self.local_ip, self.client_ip, self.policy.port_range, self.channels.bufsize)
        return self.passive

    def cmd_PASV(self, arg: str) -> None:
        if ":" in self.local_ip:
            raise Reply(500, "PASV is for IPv4; use EPSV")
        p = self._listen()
        h = p.ip.replace(".", ",")
        raise Reply(227, f"Entering Passive Mode ({h},{p.port >> 8},{p.port & 0xFF})")

    def cmd_EPSV(self, arg: str) -> None:
        if arg.upper() == "ALL":
            raise Reply(200, "EPSV ALL command successful.")
        p = self._listen()
        raise Reply(229, f"Entering Extended Passive Mode (|||{p.port}|)")

    def cmd_SPAS(self, arg: str) -> None:
        if ":" in self.local_ip:
            raise Reply(500, "SPAS is for IPv4; use EPSV")
        p = self._listen()
        h = p.ip.replace(".", ",")
        self.send(229, f"Entering Striped Passive Mode\n {h},{p.port >> 8},{p.port & 0xFF}\nEnd")

    def cmd_SPOR(self, arg: str) -> None:
        addrs = arg.split()
        if len(addrs) != 1:
            raise Reply(501, f"SPOR: this server is not striped; give one h1,h2,h3,h4,p1,p2 address, not {len(addrs)}")
        self.cmd_PORT(addrs[0])

    def _active(self, ip: str, port: int) -> None:
        # Another address is how third-party transfers work (the client points this server at another
        # server's passive port), and how FTP bounce attacks work: it is allowed to GSI-authenticated users
        # only (a verified, grid-mapped identity, as GCT's servers do), never to anonymous or password ones.
        if ip != self.client_ip and self.identity is None:
            raise Reply(501, f"data connections go to the client's own address {self.client_ip}, not {ip} "
                             "(FTP bounce refused; third-party transfers need a GSI login)")
        if not 1024 <= port <= 65535:
            raise Reply(501, f"port {port} is not allowed (1024-65535)")
        if self.passive is not None:
            self.passive.close()
            self.passive = None
        if self.channels.target != ("port", ip, port):
            self.channels.drop()
        self.active = (ip, port)
        raise Reply(200, "PORT command successful.")

    def cmd_PORT(self, arg: str) -> None:
        parts = arg.split(",")
        try:
            nums = [int(x) for x in parts]
            if len(nums) != 6 or not all(0 <= n <= 255 for n in nums):
                raise ValueError
        except ValueError:
            raise Reply(501, f"PORT {arg[:40]}: expected h1,h2,h3,h4,p1,p2") from None
        self._active(".".join(map(str, nums[:4])), nums[4] * 256 + nums[5])

    def cmd_EPRT(self, arg: str) -> None:
        if len(arg) < 5:
            raise Reply(501, "EPRT: expected |proto|address|port|")
        d = arg[0]
        parts = arg.split(d)
        try:
            if len(parts) != 5 or parts[1] not in ("1", "2"):
                raise ValueError
            ip, port = parts[2], int(parts[3])
            socket.inet_pton(socket.AF_INET if parts[1] == "1" else socket.AF_INET6, ip)
        except (ValueError, OSError):
            raise Reply(501, f"EPRT {arg[:60]}: expected |1|a.b.c.d|port| or |2|ipv6|port|") from None
        self._active(ip, port)

    # --- transfers ------------------------------------------------------------------------------------
    def listing_lines(self, arg: str, kind: str) -> list[str]:
        """The lines of a LIST/NLST/MLSD/STAT of a path. Links that lead outside the root are left out:
        they could only reveal what lies there."""
        assert self.jail is not None
        with self.place(arg or ".", must_exist=True) as p:
            if kind == "MLSD" and not p.is_dir:
                raise Reply(501, f"{arg}: not a directory (MLSD lists directories; use MLST)")
            if not p.is_dir:
                return [ls_line(p.dir_fd, p.name, p.name) if kind in ("LIST", "STAT") else
                        p.name if kind == "NLST" else facts(p.dir_fd, p.name, p.name, p.st)]
            dfd = p.open_dir()
            try:
                lines = [facts(dfd, ".", ".", dir_type="cdir")] if kind == "MLSD" else []
                for name in entries(dfd):
                    try:
                        lst = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                        target = None
                        if stat.S_ISLNK(lst.st_mode):
                            with self.jail.place(p.virtual, name, must_exist=True) as t:
                                target = t.st
                        if kind in ("LIST", "STAT"):
                            lines.append(ls_line(dfd, name, name, lst))
                        elif kind == "NLST":
                            lines.append(name)
                        else:
                            lines.append(facts(dfd, name, name, target, st=lst))
                    except (PathRefused, OSError):
                        continue  # gone meanwhile, or a link out of the root
                return lines
            finally:
                os.close(dfd)

    def _listing(self, arg: str, kind: str) -> None:
        target = arg
        if kind == "LIST" and target.startswith("-"):  # ls options some clients send
            target = target.partition(" ")[2] if " " in target else ""
        lines = self.listing_lines(target, kind)
        if self.mode_e:
            import tempfile

            with tempfile.TemporaryFile() as tmp:
                tmp.write("".join(f"{line}\r\n" for line in lines).encode("utf-8", "surrogateescape"))
                tmp.flush()
                secure = self.secure()
                self.send(150, "Opening BINARY mode data connection for file list.")
                modee.send(self.channels, self.active, self.parallel, tmp, 0, tmp.tell(), secure,
                           timeout=self.policy.data_timeout)
            raise Reply(226, "Transfer complete.")
        conn = self.data_connection()
        try:
            self.send(150, "Opening ASCII mode data connection for file list.")
            send_lines(conn, lines)
        finally:
            conn.close()
        raise Reply(226, "Transfer complete.")

    def cmd_LIST(self, arg: str) -> None:
        self._listing(arg, "LIST")

    def cmd_NLST(self, arg: str) -> None:
        self._listing(arg, "NLST")

    def cmd_MLSD(self, arg: str) -> None:
        self._listing(arg, "MLSD")

    def cmd_RETR(self, arg: str) -> None:
        self._retrieve(arg, self.rest, None)

    def cmd_ERET(self, arg: str) -> None:
        # GFD.020 partial retrieve: ERET P <offset> <length> <path>
        parts = arg.split(" ", 3)
        message = "ERET: expected 'P <offset> <length> <path>' (the only module is P, partial)"
        if len(parts) != 4 or parts[0].upper() != "P":
            raise Reply(501, message)
        self._retrieve(parts[3], number(parts[1], message, 0, (1 << 63) - 1), number(parts[2], message, 0, (1 << 63) - 1))

    @contextmanager
    def _transfer_log(self, kind: str, arg: str):
        """One BP .start/.end pair per transfer in the server's --log-transfer file (GCT's -log-transfer, in
        NetLogger's best-practice form): who, what, bytes, streams, seconds, and the reply that ended it."""
        log = self.policy.transfer_log
        info = {"bytes": 0}
        if log is None:
            yield info
            return
        import time

        t0 = time.time()
        log.write("wrapgen.gridftp.transfer.start", t=t0, type=kind, file=arg, user=self.user)
        code = 226
        try:
            yield info
        except Reply as r:
            code = r.code
            raise
        except PathRefused:  # the session answers it with 550
            code = 550
            raise
        except BaseException:
            code = 451
            raise
        finally:
            log.write("wrapgen.gridftp.transfer.end", level="INFO" if code == 226 else "ERROR",
                      status=0 if code == 226 else -1, type=kind, file=arg, user=self.user, nbytes=info["bytes"],
                      streams=self.parallel if self.mode_e else 1, mode="E" if self.mode_e else "S", code=code,
                      seconds=round(time.time() - t0, 6))

    def _retrieve(self, arg: str, offset: int, length: int | None) -> None:
        with self._transfer_log("RETR" if length is None else "ERET", arg) as info:
            self._retrieve_logged(arg, offset, length, info)

    def _retrieve_logged(self, arg: str, offset: int, length: int | None, info: dict) -> None:
        with self.place(arg, must_exist=True) as p:
            if not p.is_file:
                raise Reply(550, f"{arg}: not a regular file")
            fd = p.open(os.O_RDONLY)
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):  # replaced by something else after the walk
                raise Reply(550, f"{arg}: not a regular file")
            size = st.st_size
            if offset > size:
                what = "REST" if length is None else "ERET offset"
                raise Reply(554, f"{what} {offset} is beyond the end of {arg} ({size} bytes)")
            n = size - offset if length is None else min(length, size - offset)
            info["bytes"] = n
            if self.mode_e:
                secure = self.secure()
                self.send(150, "Opening BINARY mode data connection.")
                # RETR after REST: blocks carry file offsets; ERET: offsets from the range's start (as GCT does)
                progress = _core.Progress()
                with self.abortable(n, progress):
                    modee.send(self.channels, self.active, self.parallel, f, offset, n, secure,
                               block_base=None if length is None else 0, progress=progress,
                               timeout=self.policy.data_timeout)
                raise Reply(226, "Transfer complete.")
            conn = self.data_connection()
            try:
                self.send(150, f"Opening {'ASCII' if self.type_ascii else 'BINARY'} mode data connection.")
                self._stream_conn = conn
                try:
                    with self.abortable(n):
                        send_file(conn, f, offset, self.type_ascii, n)
                except OSError as exc:
                    raise Reply(426, f"connection closed; transfer aborted ({exc.strerror or exc})") from None
            finally:
                self._stream_conn = None
                conn.close()
        raise Reply(226, "Transfer complete.")

    def _store(self, arg: str, how: str, offset: int = 0) -> None:
        """STOR (from REST's offset, truncating), APPE (at the end) or ESTO A (at offset, keeping the rest).

        A whole-file STOR writes to a temporary name beside the target and renames it when the data is
        complete: after a crash the target is the old file or nothing, never a file with holes. When the
        client's transfer fails the partial data is moved to the target (as GCT leaves it), so that REST
        or ESTO can complete it; a store that received nothing leaves the old file as it was."""
        with self._transfer_log(how.upper(), arg) as info:
            self._store_logged(arg, how, offset, info)

    def _store_logged(self, arg: str, how: str, offset: int, info: dict) -> None:
        limit = self.policy.max_file_size
        if offset > limit:
            raise Reply(552, f"{arg}: offset {offset} is beyond the server's maximum file size ({limit} bytes)")
        with self.place(arg) as p:
            if p.is_dir:
                raise Reply(550, f"{arg}: is a directory")
            self.may_change(p, how.upper(), creating=True)
            temp = None
            if how in ("appe", "esto"):  # not O_APPEND: MODE E writes blocks at their offsets (pwrite)
                fd = p.open(os.O_RDWR | os.O_CREAT)
            elif offset:
                if not p.is_file or p.st.st_size < offset:
                    raise Reply(554, f"REST {offset} is beyond the end of {arg}")
                fd = p.open(os.O_RDWR)
                os.ftruncate(fd, offset)
            else:
                temp = f".{p.name[:200]}.part-{secrets.token_hex(6)}"
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666,
                             dir_fd=p.dir_fd)
                if p.is_file:  # the new file keeps the old one's permissions
                    os.fchmod(fd, stat.S_IMODE(p.st.st_mode))
            f = os.fdopen(fd, "r+b")
            if offset:  # ESTO's, or REST's before STOR (APPE has none)
                f.seek(offset)
            done = False
            try:
                with f:
                    if how == "appe":
                        f.seek(0, os.SEEK_END)
                    before = f.tell()
                    try:
                        self._receive(arg, f, limit)
                    finally:
                        info["bytes"] = max(0, os.fstat(f.fileno()).st_size - before)
                    done = True
            finally:
                if temp is not None:
                    self._finish_temp(p, temp, done)
                if done or temp is None:
                    self.written.add(p.virtual)
        raise Reply(226, "Transfer complete.")

    def _finish_temp(self, p: Place, temp: str, done: bool) -> None:
        # Complete: the new file takes the name. Failed: partial data takes it (REST can complete it),
        # nothing received: the temporary file goes and the old file stays.
        try:
            if done or os.stat(temp, dir_fd=p.dir_fd, follow_symlinks=False).st_size > 0:
                os.rename(temp, p.name, src_dir_fd=p.dir_fd, dst_dir_fd=p.dir_fd)
                if done and self.policy.sync:
                    d = os.open(".", os.O_RDONLY | os.O_DIRECTORY, dir_fd=p.dir_fd)
                    try:
                        os.fsync(d)
                    finally:
                        os.close(d)
            else:
                os.unlink(temp, dir_fd=p.dir_fd)
        except OSError:
            log.exception("could not put the uploaded file %s in place", p.virtual)
            if done:
                raise

    def _receive(self, arg: str, f, limit: int) -> None:
        """The data of a store into f (positioned where it starts), MODE E or stream."""
        base = f.tell()
        if self.mode_e:
            if self.passive is None:
                raise Reply(425, "in MODE E the sending side connects: use PASV (or EPSV/SPAS) before STOR")
            secure = self.secure()
            self.send(150, "Opening BINARY mode data connection.")
            # Blocks carry offsets from where the file is positioned: 0, REST's offset, the end for APPE,
            # ESTO's offset. A full disk becomes 452 in run(), like any other command's OSError.
            progress = _core.Progress()
            with self.abortable(self.allo, progress):
                n = modee.receive(self.channels, self.passive, f, base=base, secure=secure, control=self.conn,
                                  progress=progress, max_offset=limit - base, timeout=self.policy.data_timeout)
            f.flush()
            if self.policy.sync:
                os.fsync(f.fileno())
            # What GCT reports after every MODE E store: the range now on disk, and a performance marker.
            self.send(111, f"Range Marker {base}-{base + n}", hold=True)
            self.perf_marker(n, hold=True)
            return
        conn = self.data_connection()
        try:
            self.send(150, f"Opening {'ASCII' if self.type_ascii else 'BINARY'} mode data connection.")
            self._stream_conn = conn
            try:
                with self.abortable(self.allo):
                    receive_file(conn, f, self.type_ascii, limit=limit - base)
                f.flush()
                if self.policy.sync:
                    os.fsync(f.fileno())
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise Reply(452, f"{arg}: no space left on the server's disk; the partial file was kept "
                                     "(REST can complete it)") from None
                if exc.errno == errno.EFBIG:
                    raise Reply(552, f"{arg}: the file would exceed the server's maximum file size "
                                     f"({self.policy.max_file_size} bytes); the partial file was kept") from None
                raise Reply(426, f"connection closed; transfer aborted, the partial file was kept "
                                 f"({exc.strerror or exc})") from None
        finally:
            self._stream_conn = None
            conn.close()

    def cmd_STOR(self, arg: str) -> None:
        self._store(arg, "stor", self.rest)

    def cmd_APPE(self, arg: str) -> None:
        self._store(arg, "appe")

    def cmd_ESTO(self, arg: str) -> None:
        # GFD.020 extended store: ESTO A <offset> <path> (adjusted: data offsets shifted by <offset>)
        parts = arg.split(" ", 2)
        message = "ESTO: expected 'A <offset> <path>' (the only module is A, adjusted)"
        if len(parts) != 3 or parts[0].upper() != "A":
            raise Reply(501, message)
        self._store(parts[2], "esto", number(parts[1], message, 0, (1 << 63) - 1))

    def cmd_ABOR(self, arg: str) -> None:
        if self.aborted:
            self.aborted = False
            raise Reply(226, "ABOR command successful; the transfer was aborted.")
        if self.passive is not None:
            self.passive.close()
            self.passive = None
        self.active = None
        raise Reply(226, "Abort successful.")

    # --- ABOR during a transfer -----------------------------------------------------------------------------
    @contextmanager
    def abortable(self, size: int | None, progress: _core.Progress | None = None):
        """Watch a running transfer: ABOR (or the client going away) stops it, and every marker interval a
        112 performance marker reports the bytes moved so far (progress, kept by the native data path).

        Transfers known to be small are not watched: they end before either could matter, and a thread per
        file costs the many-small-files case. A protected (GSI) session's commands cannot be read ahead
        without consuming them, so there ABOR waits for the transfer's end (markers still go out).
        """
        self.aborted = False
        if size is not None and size < WATCH_ABOR_FROM:
            yield
            return
        wake_r, wake_w = os.pipe()  # ends the watcher at once when the transfer is over
        interval = self.policy.marker_interval
        listen_for_abor = self.protected is None

        def watch() -> None:
            watched = [self.conn, wake_r] if listen_for_abor else [wake_r]
            while True:
                readable = select.select(watched, [], [], interval)[0]
                if wake_r in readable:
                    return
                if not readable:
                    if progress is not None:
                        self.perf_marker(progress.bytes)
                    continue
                try:
                    head = self.conn.recv(64, socket.MSG_PEEK)
                except OSError:
                    head = b""
                # Telnet IP/Synch (0xff...) precede ABOR in RFC 959 clients; an empty read: the client is gone.
                if not head or head.startswith(b"\xff") or head.lstrip().upper().startswith(b"ABOR"):
                    self.aborted = True
                    self.channels.abort()
                    if self._stream_conn is not None:
                        try:
                            self._stream_conn.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                    return
                watched.remove(self.conn)  # any other command waits for the transfer's end

        t = threading.Thread(target=watch, name="gridftp-watch", daemon=True)
        t.start()
        try:
            yield
            if self.aborted:  # a stream upload reads a shut-down connection as a normal end of file
                raise DataError("aborted")
        except (DataError, OSError) as exc:
            if self.aborted:
                raise Reply(426, "transfer aborted by ABOR; a partial file is kept (REST or ESTO can complete "
                                 "it)") from None
            raise exc
        finally:
            os.write(wake_w, b"x")
            t.join()
            os.close(wake_r)
            os.close(wake_w)
