"""The session's file and directory commands (CWD, MKD, RMD, DELE, RNFR/RNTO, SIZE, MDTM, MFMT, MLST, CKSM,
SITE CHMOD). Every path goes through the jail's `place()`: the checked directory is the one used.

Anonymous sessions are read-only unless the server says otherwise: "write" lets them upload new files and
change only what they wrote themselves in this session, "full" gives them what the server's account may
(see `may_change`)."""

from __future__ import annotations

import calendar
import os
import time
from typing import TYPE_CHECKING

from .jail import Jail, PathRefused, Place
from .listing import facts, mtime_text
from .replies import Keep, Reply, number

if TYPE_CHECKING:
    from .policy import SessionPolicy

CKSM_ALGORITHMS = ("MD5", "ADLER32", "SHA1", "SHA256", "SHA512", "CRC32C")
CKSM_CHUNK = 64 << 20  # a checksum is computed in pieces so that a session that ends stops it


class FileCommands:
    """Mixin for Session: file and directory commands."""

    policy: SessionPolicy
    jail: Jail | None
    cwd: str
    user: str | None
    rename_from: str | None
    written: set[str]  # virtual paths this session created (what an anonymous writer may change)

    if TYPE_CHECKING:  # provided by Session
        def send(self, code: int, text: str, hold: bool = False) -> None: ...
        def client_gone(self) -> bool: ...

    # --- helpers --------------------------------------------------------------------------------------
    def place(self, arg: str, *, follow: bool = True, must_exist: bool = False) -> Place:
        """A command argument resolved inside the session's root (close it, or use it in a with block)."""
        assert self.jail is not None
        if not arg:
            raise Reply(501, "a path is required")
        return self.jail.place(self.cwd, arg, follow=follow, must_exist=must_exist)

    @property
    def anonymous(self) -> bool:
        """Whether this is an anonymous session."""
        return self.user == "anonymous"

    def may_change(self, p: Place, verb: str, creating: bool = False) -> None:
        """Refuse a change an anonymous session may not make: anything without --anonymous-write; with it,
        only new names (creating) or what this session itself wrote."""
        if not self.anonymous or self.policy.anonymous_access == "full":
            return
        if self.policy.anonymous_access == "read":
            raise Reply(550, f"{verb}: anonymous sessions are read-only on this server")
        if p.virtual in self.written or (creating and not p.exists):
            return
        raise Reply(550, f"{verb}: an anonymous session may only change what it wrote itself")

    # --- commands -------------------------------------------------------------------------------------
    def cmd_PWD(self, arg: str) -> None:
        raise Reply(257, f'"{self.cwd}" is current directory.')

    def cmd_CWD(self, arg: str) -> None:
        with self.place(arg or "/", must_exist=True) as p:
            if not p.is_dir:
                raise Reply(550, f"{arg}: not a directory")
            if not os.access(p.name, os.X_OK, dir_fd=p.dir_fd):
                raise Reply(550, f"{arg}: permission denied")
            self.cwd = p.virtual
        raise Reply(250, "CWD command successful.")

    def cmd_CDUP(self, arg: str) -> None:
        self.cmd_CWD("..")

    def cmd_MKD(self, arg: str) -> None:
        with self.place(arg) as p:
            self.may_change(p, "MKD", creating=True)
            p.mkdir()
            self.written.add(p.virtual)
        raise Reply(257, f'"{p.virtual}" directory created.')

    def cmd_RMD(self, arg: str) -> None:
        with self.place(arg, follow=False, must_exist=True) as p:
            if p.virtual == "/":
                raise Reply(550, "the root directory cannot be removed")
            self.may_change(p, "RMD")
            p.rmdir()
            self.written.discard(p.virtual)
        raise Reply(250, "RMD command successful.")

    def cmd_DELE(self, arg: str) -> None:
        with self.place(arg, follow=False, must_exist=True) as p:
            if p.is_dir:
                raise Reply(550, f"{arg}: is a directory (use RMD)")
            self.may_change(p, "DELE")
            p.unlink()
            self.written.discard(p.virtual)
        raise Reply(250, "DELE command successful.")

    def cmd_RNFR(self, arg: str) -> None:
        with self.place(arg, follow=False, must_exist=True) as p:
            if p.virtual == "/":
                raise Reply(550, "the root directory cannot be renamed")
            self.may_change(p, "RNFR")
            # Kept as a virtual path and resolved again by RNTO: a descriptor held between two commands
            # would pin a directory the client may have moved meanwhile.
            self.rename_from = p.virtual
        self.send(350, "File exists, ready for destination name.")
        raise Keep()

    def cmd_RNTO(self, arg: str) -> None:
        if self.rename_from is None:
            raise Reply(503, "send RNFR first")
        source, self.rename_from = self.rename_from, None
        with self.place(source, follow=False, must_exist=True) as src, self.place(arg, follow=False) as dst:
            self.may_change(dst, "RNTO", creating=True)
            src.rename_to(dst)
            if src.virtual in self.written:
                self.written.discard(src.virtual)
                self.written.add(dst.virtual)
        raise Reply(250, "RNTO command successful.")

    def cmd_SIZE(self, arg: str) -> None:
        with self.place(arg, must_exist=True) as p:
            if not p.is_file:
                raise Reply(550, f"{arg}: not a regular file")
            raise Reply(213, str(p.st.st_size))

    def cmd_MDTM(self, arg: str) -> None:
        with self.place(arg, must_exist=True) as p:
            raise Reply(213, mtime_text(p.st.st_mtime))

    def cmd_MFMT(self, arg: str) -> None:
        stamp, _, name = arg.partition(" ")
        try:
            t = time.strptime(stamp[:14], "%Y%m%d%H%M%S")
        except ValueError:
            raise Reply(501, f"MFMT {stamp[:20]}: expected YYYYMMDDHHMMSS") from None
        with self.place(name, must_exist=True) as p:
            self.may_change(p, "MFMT")
            p.utime(calendar.timegm(t))
        raise Reply(213, f"Modify={stamp[:14]}; {name}")

    def site_chmod(self, rest: str) -> None:
        """SITE CHMOD <octal mode> <path>."""
        mode_text, _, name = rest.partition(" ")
        mode = number(mode_text, f"SITE CHMOD: {mode_text!r} is not an octal mode", 0, 0o7777, base=8)
        with self.place(name, must_exist=True) as p:
            if self.anonymous and self.policy.anonymous_access != "full":
                raise Reply(550, "SITE CHMOD: not allowed to anonymous sessions")
            p.chmod(mode & 0o777)
        raise Reply(200, "SITE CHMOD command successful.")

    def cmd_MLST(self, arg: str) -> None:
        with self.place(arg or ".", must_exist=True) as p:
            self.send(250, f"Listing {arg or self.cwd}\n {facts(p.dir_fd, p.name, p.virtual, p.st)}\nEnd.")

    def cmd_CKSM(self, arg: str) -> None:
        from ..checksum import new

        parts = arg.split(" ", 3)
        if len(parts) != 4:
            raise Reply(501, "CKSM needs: algorithm offset length path")
        alg, off, length, name = parts
        if alg.upper() not in CKSM_ALGORITHMS:
            raise Reply(504, f"unknown checksum algorithm {alg[:20]}; supported: {', '.join(CKSM_ALGORITHMS)}")
        message = (f"CKSM: offset {off[:20]!r} and length {length[:20]!r} must be integers from 0 below 2^63 "
                   "(length -1 for the rest)")
        offset, n = number(off, message, 0, (1 << 63) - 1), number(length, message, -1, (1 << 63) - 1)
        with self.place(name, must_exist=True) as p:
            if not p.is_file:
                raise Reply(550, f"{name}: not a regular file")
            fd = p.open(os.O_RDONLY)
        with os.fdopen(fd, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if offset > size:
                raise Reply(501, f"CKSM: offset {offset} is beyond the end of {name} ({size} bytes)")
            if n >= 0 and offset + n > size:  # a shorter range's sum would pass for the one asked for
                raise Reply(501, f"CKSM: range {offset}+{n} is past the end of {name} ({size} bytes)")
            end = size if n < 0 else offset + n
            h = new(alg.upper())
            at = offset
            while at < end:
                # In pieces: a session whose client left stops here instead of reading on for an hour.
                if at > offset and self.client_gone():
                    raise Reply(426, "CKSM: the client left; checksum abandoned")
                step = min(CKSM_CHUNK, end - at)
                try:
                    h.update_file(f.fileno(), at, step)
                except ValueError as exc:  # the file shrank while it was read
                    raise Reply(501, f"CKSM {name}: {exc}") from None
                at += step
        raise Reply(213, h.hexdigest())


__all__ = ["FileCommands", "CKSM_ALGORITHMS", "PathRefused"]
