"""WS-RF times as the messages carry them, parsed in one place: xs:duration (RequestedLifetimeDuration) and
xs:dateTime (RequestedTerminationTime), and WS-BaseNotification's union of the two. Each refusal is a client
fault saying what was expected; a time too far out to be shown again as an xs:dateTime is refused too."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from . import ns as N
from .errors import ClientFault

_DURATION = re.compile(r"(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


MAX_LIFETIME = 1000 * 365 * 86400.0  # seconds


def parse_duration(text: str) -> float:
    """xs:duration (PnYnMnDTnHnMnS; years as 365 days, months as 30) in seconds."""
    m = _DURATION.fullmatch(text.strip())
    if not m or text.strip() in ("P", "-P") or text.strip().endswith("T"):
        raise ClientFault(f"RequestedLifetimeDuration {text!r} is not an xs:duration such as PT1H30M")
    y, mo, d, h, mi, s = (float(g) if g else 0.0 for g in m.groups()[1:])
    seconds = ((y * 365 + mo * 30 + d) * 24 + h) * 3600 + mi * 60 + s
    if not seconds <= MAX_LIFETIME:  # NaN-proof: a time this far out cannot be shown (or swept) as a dateTime
        raise ClientFault(f"duration {text.strip()[:40]!r} is longer than 1000 years; send xsi:nil for no "
                          "termination time")
    return -seconds if m.group(1) else seconds


def parse_datetime(text: str) -> float:
    """xs:dateTime to a POSIX time; a time without a zone is taken as UTC."""
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ClientFault(f"{text!r} is not an xs:dateTime such as 2026-12-01T12:00:00Z") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    try:
        stamp = t.timestamp()
        datetime.fromtimestamp(stamp, timezone.utc)  # must be shown again in every property document
    except (OverflowError, OSError, ValueError):
        raise ClientFault(f"{text!r} is outside the range of times this server can keep") from None
    return stamp


def parse_time(text: str, now: float, fault: str) -> float | None:
    """An absolute xs:dateTime or a relative xs:duration (WSN's termination time union) as POSIX time."""
    text = (text or "").strip()
    try:
        return now + parse_duration(text) if text.startswith(("P", "-P")) else parse_datetime(text)
    except ClientFault as exc:
        raise ClientFault(str(exc), element=N.q(N.WSNT, fault)) from None
