"""The status of a computation's WS-Resource and its legal transitions, in one place (h11's rule: one module knows
each state machine; the store's conditional updates, the WSDL's enumeration and the clients all ask this one)."""

from __future__ import annotations

import types
from collections.abc import Mapping
from enum import StrEnum


class Status(StrEnum):
    """Created -> Running -> Succeeded | Failed; Created or Running -> Cancelled."""

    CREATED = "Created"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


TRANSITIONS: Mapping[Status, frozenset[Status]] = types.MappingProxyType({
    Status.CREATED: frozenset({Status.RUNNING, Status.CANCELLED}),
    Status.RUNNING: frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED}),
    Status.SUCCEEDED: frozenset(),
    Status.FAILED: frozenset(),
    Status.CANCELLED: frozenset(),
})
TERMINAL = frozenset(s for s, after in TRANSITIONS.items() if not after)
ACTIVE = frozenset(Status) - TERMINAL  # what Cancel can still stop


def can(before: str, after: str) -> bool:
    """Whether a resource in status `before` may move to `after`."""
    return Status(after) in TRANSITIONS[Status(before)]

