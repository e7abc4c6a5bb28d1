"""What the resource and notification handlers may use of the application, and nothing more: the WsrfApp
provides it; a test (or another front end) can provide its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .app import Call, ServiceConfig
    from .notify import NotificationHandlers
    from .store import Store


class HandlerContext(Protocol):
    """The narrow view of one application that handlers are given."""

    config: ServiceConfig
    store: Store
    notifications: NotificationHandlers

    def check_owner(self, call: Call, owner: str | None, what: str) -> None:
        """Raise the access-denied fault unless the caller may use what `owner` created."""

    def offloader(self, call: Call, resource: str | None) -> Callable[[Any], str | None]:
        """A function that stores a large array for download and returns its URL (None: send it inline)."""
