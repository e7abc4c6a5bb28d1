"""Directory listings: LIST (ls -l lines), NLST (names), MLSD/MLST facts (RFC 3659, GCT's fact set)."""

from __future__ import annotations

import grp
import os
import pwd
import stat
import time
from pathlib import Path

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


def facts(path: Path, name: str, dir_type: str | None = None) -> str:
    """One MLSD/MLST line: 'fact=value;...; name'. dir_type overrides Type for cdir/pdir entries."""
    st = path.lstat()
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        try:
            target_st = path.stat()
            kind = "dir" if stat.S_ISDIR(target_st.st_mode) else "file"
            size = target_st.st_size
        except OSError:
            kind, size = "file", st.st_size
    else:
        kind = "dir" if stat.S_ISDIR(mode) else "file"
        size = st.st_size
    if dir_type:
        kind = dir_type
    readable, writable = os.access(path, os.R_OK), os.access(path, os.W_OK)
    perm = ("el" if readable else "") + ("cmfp" if writable else "") if kind != "file" else \
        ("r" if readable else "") + ("wad" if writable else "")
    out = [f"Type={kind}", f"Size={size}", f"Modify={mtime_text(st.st_mtime)}", f"Perm={perm}",
           f"UNIX.mode={stat.S_IMODE(mode):04o}", f"UNIX.owner={_owner(st.st_uid)}", f"UNIX.uid={st.st_uid}",
           f"UNIX.group={_group(st.st_gid)}", f"UNIX.gid={st.st_gid}", f"Unique={st.st_dev:x}-{st.st_ino:x}"]
    if stat.S_ISLNK(mode):
        out.append(f"UNIX.slink={os.readlink(path)}")
    return ";".join(out) + "; " + name


def ls_line(path: Path, name: str) -> str:
    """One `ls -l` style line (LIST)."""
    st = path.lstat()
    when = time.localtime(st.st_mtime)
    stamp = time.strftime("%b %d %H:%M" if time.time() - st.st_mtime < 180 * 86400 else "%b %d  %Y", when)
    return f"{stat.filemode(st.st_mode)} {st.st_nlink:3d} {_owner(st.st_uid):<8} {_group(st.st_gid):<8} " \
           f"{st.st_size:>12} {stamp} {name}"


def entries(directory: Path) -> list[Path]:
    """Directory entries, sorted by name."""
    return sorted(directory.iterdir(), key=lambda p: p.name)
