"""GRAM's job states, signals and failure codes, and the legal transitions: the one module that knows them (h11's
rule). Everything else asks `can()` / `check()`; the job store refuses an update this table does not allow.

The numbers are GRAM5's (a state's value is its bit in a callback mask), so a GRAM client reading our job
manager, or a user reading a GRAM5 log, sees the same codes.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from enum import IntEnum
from importlib import resources

from .errors import GRAMError


class JobState(IntEnum):
    """GRAM job states; the value is the state's bit in a callback mask."""

    PENDING = 1
    ACTIVE = 2
    FAILED = 4
    DONE = 8
    SUSPENDED = 16
    UNSUBMITTED = 32
    STAGE_IN = 64
    STAGE_OUT = 128

    @property
    def terminal(self) -> bool:
        """DONE or FAILED: nothing happens to the job after."""
        return self in (JobState.DONE, JobState.FAILED)


ALL = 0xFFFFF  # GRAM's mask of every state

_S = JobState
# UNSUBMITTED is where a two-phase job waits for its commit; every state may fail (cancel, lost, a stage failing).
TRANSITIONS: Mapping[JobState, frozenset[JobState]] = types.MappingProxyType({
    _S.UNSUBMITTED: frozenset({_S.STAGE_IN, _S.PENDING, _S.FAILED}),
    _S.STAGE_IN: frozenset({_S.PENDING, _S.FAILED}),
    _S.PENDING: frozenset({_S.ACTIVE, _S.SUSPENDED, _S.STAGE_OUT, _S.DONE, _S.FAILED}),
    _S.ACTIVE: frozenset({_S.SUSPENDED, _S.STAGE_OUT, _S.DONE, _S.FAILED}),
    _S.SUSPENDED: frozenset({_S.ACTIVE, _S.PENDING, _S.STAGE_OUT, _S.DONE, _S.FAILED}),
    _S.STAGE_OUT: frozenset({_S.DONE, _S.FAILED}),
    _S.DONE: frozenset(),
    _S.FAILED: frozenset(),
})


class Signal(IntEnum):
    """GRAM job signals (the numbers of `globusrun`/the protocol's "signal" requests)."""

    CANCEL = 1
    SUSPEND = 2
    RESUME = 3
    PRIORITY = 4
    COMMIT_REQUEST = 5
    COMMIT_EXTEND = 6
    STDIO_UPDATE = 7
    STDIO_SIZE = 8
    STOP_MANAGER = 9
    COMMIT_END = 10


def can(before: JobState, after: JobState) -> bool:
    """Whether a job in state `before` may move to `after` (staying put is not a move)."""
    return after in TRANSITIONS[JobState(before)]


def check(before: JobState, after: JobState) -> None:
    """Raise GRAMError (GRAM's INVALID_JOBSTATE, 23) unless before -> after is legal."""
    if not can(before, after):
        raise GRAMError(f"a job cannot go from {JobState(before).name} to {JobState(after).name}", code=23)


def mask(states: Iterable[JobState | str | int]) -> int:
    """A callback mask from states (names, numbers or members)."""
    out = 0
    for s in states:
        out |= JobState[s.upper()] if isinstance(s, str) else JobState(s)
    return out


def in_mask(state: JobState, bits: int) -> bool:
    """Whether a callback registered with mask `bits` hears about `state`."""
    return bool(bits & int(state))


def _load_codes() -> tuple[Mapping[int, str], Mapping[int, str]]:
    names, messages = {}, {}
    text = resources.files(__package__).joinpath("data", "failure-codes.tsv").read_text()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, name, message = line.split("\t", 2)
            names[int(code)], messages[int(code)] = name, message
    return types.MappingProxyType(names), types.MappingProxyType(messages)


CODE_NAMES, CODE_MESSAGES = _load_codes()
CODES: Mapping[str, int] = types.MappingProxyType({name: code for code, name in CODE_NAMES.items()})


def message(code: int) -> str:
    """GRAM's words for a failure code."""
    return CODE_MESSAGES.get(code, "Invalid error code")
