"""Directory listings: LIST (ls -l lines), NLST (names), MLSD/MLST facts (RFC 3659, GCT's fact set)."""

from __future__ import annotations

import grp
import os
import pwd
import stat
import time

MLST_FACTS = "Type*;Size*;Modify*;Perm*;Charset;UNIX.mode*;UNIX.owner*;UNIX.uid*;UNIX.group*;UNIX.gid*;Unique*;" \
             "UNIX.slink*;"


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def mtime_text(t: float) -> str:
    """YYYYMMDDHHMMSS in UTC (MDTM, MLSD Modify)."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(t))


def facts(dir_fd: int, name: str, shown: str, target: os.stat_result | None = None,
          dir_type: str | None = None, st: os.stat_result | None = None) -> str:
    """One MLSD/MLST line for `name` in the directory dir_fd: 'fact=value;...; shown'. A symbolic link is
    described by `target` (what it leads to, resolved inside the jail by the caller). dir_type overrides
    Type for cdir/pdir entries; st is the name's lstat when the caller has it already."""
    st = st or os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    mode = st.st_mode
    if stat.S_ISLNK(mode) and target is not None:
        kind = "dir" if stat.S_ISDIR(target.st_mode) else "file"
        size = target.st_size
    else:
        kind = "dir" if stat.S_ISDIR(mode) else "file"
        size = st.st_size
    if dir_type:
        kind = dir_type
    readable = os.access(name, os.R_OK, dir_fd=dir_fd, effective_ids=False)
    writable = os.access(name, os.W_OK, dir_fd=dir_fd, effective_ids=False)
    perm = ("el" if readable else "") + ("cmfp" if writable else "") if kind != "file" else \
        ("r" if readable else "") + ("wad" if writable else "")
    out = [f"Type={kind}", f"Size={size}", f"Modify={mtime_text(st.st_mtime)}", f"Perm={perm}",
           f"UNIX.mode={stat.S_IMODE(mode):04o}", f"UNIX.owner={_owner(st.st_uid)}", f"UNIX.uid={st.st_uid}",
           f"UNIX.group={_group(st.st_gid)}", f"UNIX.gid={st.st_gid}", f"Unique={st.st_dev:x}-{st.st_ino:x}"]
    if stat.S_ISLNK(mode):
        out.append(f"UNIX.slink={os.readlink(name, dir_fd=dir_fd)}")
    return ";".join(out) + "; " + shown


def ls_line(dir_fd: int, name: str, shown: str, st: os.stat_result | None = None) -> str:
    """One `ls -l` style line (LIST) for `name` in the directory dir_fd (st: its lstat, if the caller has it)."""
    st = st or os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    when = time.localtime(st.st_mtime)
    stamp = time.strftime("%b %d %H:%M" if time.time() - st.st_mtime < 180 * 86400 else "%b %d  %Y", when)
    return f"{stat.filemode(st.st_mode)} {st.st_nlink:3d} {_owner(st.st_uid):<8} {_group(st.st_gid):<8} " \
           f"{st.st_size:>12} {stamp} {shown}"


def entries(dir_fd: int) -> list[str]:
    """The names in an open directory, sorted."""
    return sorted(os.listdir(dir_fd))
