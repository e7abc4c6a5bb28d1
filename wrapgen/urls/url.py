"""Parsing source and destination URLs: file:///path, ftp:// and gsiftp://[user[:password]@]host[:port]/path,
http(s)://host[:port]/path."""

from __future__ import annotations

import types
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..errors import UsageError

# Per scheme: (default port, default user, default password); schemes not here are refused when parsed.
DEFAULTS: Mapping[str, tuple[int, str, str]] = types.MappingProxyType({
    "ftp": (2811, "anonymous", "wrapgen@"),
    "gsiftp": (2811, "", "wrapgen@"),
    "http": (0, "", ""),
    "https": (0, "", ""),
})


@dataclass(frozen=True)
class Url:
    """A parsed source or destination."""

    scheme: str
    host: str
    port: int
    user: str
    password: str
    path: str
    text: str = ""

    @property
    def is_dir(self) -> bool:
        """A URL ending in '/' names a directory (globus-url-copy's rule)."""
        return self.path.endswith("/")

    @property
    def local(self) -> bool:
        """A path on this machine (file://)."""
        return self.scheme == "file"

    def join(self, name: str) -> Url:
        """The URL of name inside this directory URL."""
        return Url(self.scheme, self.host, self.port, self.user, self.password, self.path + name,
                   self.text + name)


def parse_url(text: str, schemes: Collection[str] | None = None) -> Url:
    """A URL of a scheme wrapgen copies (or of one of schemes, a registry's), else a UsageError naming the text
    and what was expected."""
    u = urlsplit(text)
    if u.scheme == "file":
        if u.netloc not in ("", "localhost"):
            raise UsageError(f"{text}: file URLs are local (file:///path)")
        return Url("file", "", 0, "", "", unquote(u.path), text)
    if u.scheme not in (DEFAULTS if schemes is None else schemes):
        known = "file://, ftp://, gsiftp:// or http(s):// (source only)" if schemes is None else \
            ", ".join(f"{k}://" for k in sorted(schemes))
        raise UsageError(f"{text}: unsupported URL scheme {u.scheme!r}; use {known}")
    if not u.hostname:
        raise UsageError(f"{text}: no host")
    port, user, password = DEFAULTS.get(u.scheme, (0, "", ""))
    if u.scheme.startswith("http"):
        return Url(u.scheme, u.hostname, u.port or port, "", "", u.path or "/", text)
    path = unquote(u.path) or "/"
    if path == "/~" or path.startswith("/~/"):
        path = path[1:]  # ~/... is the session's home directory, as globus-url-copy sends it
    return Url(u.scheme, u.hostname, u.port or port, unquote(u.username or user),
               unquote(u.password or password), path, text)
