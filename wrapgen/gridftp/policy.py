"""What a GridFTP session needs to know of its server, frozen: logins it accepts, its root, limits and timeouts.
A session is built from this and a socket, not from the Server object, so a test can run one over a socket
pair and a session cannot reach into the server's other sessions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .auth import PasswordFile
from .security import GSIConfig


@dataclass(frozen=True)
class SessionPolicy:
    """The server's settings a session acts on."""

    root: Path
    anonymous: bool = False
    anonymous_access: str = "read"  # read | write | full
    passwords: PasswordFile | None = None
    gsi: GSIConfig | None = None
    gsi_only: bool = False
    port_range: tuple[int, int] | None = None
    sync: bool = False
    marker_interval: float = 5.0
    data_timeout: float = 300.0
    max_file_size: int = 1 << 40
    delegation_key: Callable[[], Any] | None = None  # a fresh private key for a delegation (GSI)
    transfer_log: Any = None  # a wrapgen.netlogger.EventLog: one .start/.end pair per transfer
