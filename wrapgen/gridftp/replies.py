"""Replies as exceptions: a command handler raises Reply(code, text) and the session sends it. Shared by the
session and its command mixins (files, transfers), so none of them imports another."""

from __future__ import annotations

import errno


class Reply(Exception):
    """Answer the current command with this code and text (and stop handling it)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


class Keep(Reply):
    """The reply was sent and the session state set by this command (REST, RNFR, ALLO) must survive it."""

    def __init__(self) -> None:
        super().__init__(0, "")


def number(text: str, message: str, low: int | None = 0, high: int | None = None, base: int = 10) -> int:
    """An integer argument within [low, high]; anything else is the 501 reply `message`."""
    try:
        n = int(text, base)
    except ValueError:
        raise Reply(501, message) from None
    if (low is not None and n < low) or (high is not None and n > high):
        raise Reply(501, message)
    return n


def os_reply(exc: OSError, what: str) -> Reply:
    """The reply for a failed file system call (the real path never shown)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Reply(452, f"{what}: no space left on the server's disk")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return Reply(550, f"{what}: permission denied")
    if exc.errno == errno.ENOENT:
        return Reply(550, f"{what}: no such file or directory")
    if exc.errno == errno.EISDIR:
        return Reply(550, f"{what}: is a directory")
    if exc.errno == errno.ENOTDIR:
        return Reply(550, f"{what}: not a directory")
    if exc.errno == errno.ENOTEMPTY:
        return Reply(550, f"{what}: directory not empty")
    if exc.errno == errno.EEXIST:
        return Reply(550, f"{what}: already exists")
    if exc.errno == errno.ELOOP:
        return Reply(550, f"{what}: changed into a symbolic link while in use; try again")
    if exc.errno == errno.EFBIG:
        return Reply(552, f"{what}: the file would exceed the server's maximum file size")
    return Reply(451, f"{what}: {exc.strerror or exc}")
