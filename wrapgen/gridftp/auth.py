"""Logins: anonymous (off unless asked for) and user/password from a file of salted scrypt hashes.

Password file lines: `user:scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>[:home]`, written by
`wrapgen gridftp-passwd FILE USER`. A home gives that user a root below the server root.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .errors import GridFTPError

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """A salted scrypt hash in the file's format."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether password matches a stored hash (constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


@dataclass
class Account:
    """Who a session runs as and where its root is (relative to the server root)."""

    user: str
    home: str = "/"


class PasswordFile:
    """The users of a password file (re-read when it changes)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._mtime = -1.0
        self._users: dict[str, tuple[str, str]] = {}
        self._load()

    def _load(self) -> None:
        try:
            st = self.path.stat()
        except OSError as exc:
            raise GridFTPError(f"cannot read password file {self.path}: {exc.strerror}") from None
        if st.st_mode & 0o077:
            raise GridFTPError(f"password file {self.path} is readable by others (mode {st.st_mode & 0o777:04o}); "
                               f"chmod 600 it")
        if st.st_mtime == self._mtime:
            return
        users = {}
        for lineno, raw in enumerate(self.path.read_text().splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(":")
            if len(parts) not in (2, 3) or not parts[0] or not parts[1].startswith("scrypt$"):
                raise GridFTPError(f"{self.path}:{lineno}: expected user:scrypt$...[:home]")
            users[parts[0]] = (parts[1], parts[2] if len(parts) == 3 and parts[2] else "/")
        self._users, self._mtime = users, st.st_mtime

    def account(self, user: str) -> Account | None:
        """The account of a user authenticated some other way (GSI), for its home; None if not listed."""
        self._load()
        entry = self._users.get(user)
        return Account(user, entry[1]) if entry else None

    def login(self, user: str, password: str) -> Account | None:
        """The account for a correct user/password, else None."""
        self._load()
        entry = self._users.get(user)
        if entry is None:
            hashlib.scrypt(b"x", salt=b"0" * 16, n=_N, r=_R, p=_P)  # same cost whether or not the user exists
            return None
        return Account(user, entry[1]) if check_password(password, entry[0]) else None


def set_password(path: str | os.PathLike[str], user: str, password: str, home: str = "") -> None:
    """Add or replace a user in a password file (created 0600)."""
    if not user or ":" in user or any(c.isspace() for c in user):
        raise GridFTPError(f"user name {user!r} may not be empty or contain ':' or spaces")
    p = Path(path)
    lines = p.read_text().splitlines() if p.exists() else []
    lines = [ln for ln in lines if not ln.startswith(f"{user}:")]
    lines.append(f"{user}:{hash_password(password)}" + (f":{home}" if home else ""))
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(p, 0o600)
