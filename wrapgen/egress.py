"""Where a server may send requests of its own: WS-BaseNotification consumers (wrapgen.wsrf), job state
callbacks (wrapgen.gram).

A client names any URL for the server to POST to: without a check, it makes the server reach services only the
server can see (127.0.0.1, the private network, cloud metadata at 169.254.169.254). So the URL's host must
resolve only to public addresses, unless the operator allows networks (`--notify-allow`, `--callback-allow`:
CIDRs, e.g. 127.0.0.0/8 for a client on the same machine). The address is checked when the URL is registered
and again before every delivery (DNS can change), and redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.request
from collections.abc import Iterable
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class EgressRefused(ValueError):
    """A URL the server may not send to; the text says why."""


def networks(allow: Iterable[str], option: str = "--notify-allow") -> list[Network]:
    """Parse allowed networks ('127.0.0.0/8', '10.1.2.3', '::1'); ValueError names a bad one."""
    out = []
    for text in allow:
        try:
            out.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{option} {text!r}: expected a network like 127.0.0.0/8 or an address") from None
    return out


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check(url: str, allow: list[Network], option: str = "--notify-allow", what: str = "consumer") -> None:
    """Refuse (EgressRefused) a URL that is not http(s) or whose host resolves to a non-public address
    outside the allowed networks."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EgressRefused(f"{url!r} is not an http(s) URL with a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise EgressRefused(f"{parts.hostname!r} cannot be resolved: {exc}") from None
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if not _public(ip) and not any(ip in n for n in allow):
            raise EgressRefused(f"the {what} {parts.hostname} is at {ip}, a loopback, private or link-local "
                                f"address this server does not send to (its operator can allow it with {option})")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None  # the 3xx becomes an HTTPError: a consumer answers, it does not send us elsewhere


def opener() -> urllib.request.OpenerDirector:
    """A urllib opener that never follows redirects (and ignores proxy settings)."""
    return urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
