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


# errno -> (code, what the client is told); the real path is never part of it
_ERRNO_REPLIES = {
    errno.ENOSPC: (452, "no space left on the server's disk"), errno.EDQUOT: (452, "no space left on the server's disk"),
    errno.EACCES: (550, "permission denied"), errno.EPERM: (550, "permission denied"), errno.EROFS: (550, "permission denied"),
    errno.ENOENT: (550, "no such file or directory"), errno.EISDIR: (550, "is a directory"),
    errno.ENOTDIR: (550, "not a directory"), errno.ENOTEMPTY: (550, "directory not empty"),
    errno.EEXIST: (550, "already exists"),
    errno.ELOOP: (550, "changed into a symbolic link while in use; try again"),
    errno.EFBIG: (552, "the file would exceed the server's maximum file size"),
}


def os_reply(exc: OSError, what: str) -> Reply:
    """The reply for a failed file system call (the real path never shown)."""
    code, text = _ERRNO_REPLIES.get(exc.errno, (451, exc.strerror or str(exc)))
    return Reply(code, f"{what}: {text}")
