"""GRAM's states, signals and failure codes (gram/state.py), checked against GCT's own protocol library."""

from __future__ import annotations

import ctypes

import pytest

from wrapgen.gram.errors import GRAMError
from wrapgen.gram.state import CODE_MESSAGES, CODES, TRANSITIONS, JobState, Signal, can, check, in_mask, mask, message


def _gram5():
    return ctypes.CDLL("libglobus_gram_protocol.so.3")


def test_failure_codes_and_words_are_grams() -> None:
    """Every code we use has GRAM5's number and words (globus-gram-client-tools' libglobus_gram_protocol)."""
    lib = _gram5()
    words = lib.globus_gram_protocol_error_string
    words.restype, words.argtypes = ctypes.c_char_p, [ctypes.c_int]
    for code, text in CODE_MESSAGES.items():
        assert words(code).decode() == text, code
    assert (CODES["EXECUTABLE_NOT_FOUND"], CODES["USER_CANCELLED"], CODES["JOB_EXECUTION_FAILED"]) == (5, 8, 17)
    assert (CODES["STAGE_IN_FAILED"], CODES["STAGE_OUT_FAILED"], CODES["JOB_CONTACT_NOT_FOUND"]) == (135, 155, 156)
    assert message(9999) == "Invalid error code"


def test_state_and_signal_numbers_are_grams() -> None:
    assert [s.value for s in JobState] == [1, 2, 4, 8, 16, 32, 64, 128]  # the bits of a callback mask
    assert [s.value for s in Signal] == list(range(1, 11))


def test_transitions() -> None:
    assert can(JobState.UNSUBMITTED, JobState.STAGE_IN) and can(JobState.ACTIVE, JobState.SUSPENDED)
    assert can(JobState.SUSPENDED, JobState.ACTIVE) and can(JobState.STAGE_IN, JobState.FAILED)
    assert not can(JobState.DONE, JobState.ACTIVE) and not can(JobState.FAILED, JobState.DONE)
    assert not can(JobState.STAGE_OUT, JobState.ACTIVE)  # once the job has ended it does not run again
    assert not can(JobState.STAGE_IN, JobState.DONE)  # DONE only after the job ran
    for s in JobState:
        if not s.terminal:
            assert can(s, JobState.FAILED), s  # anything may fail (cancel, a lost job)
    assert {s for s, after in TRANSITIONS.items() if not after} == {JobState.DONE, JobState.FAILED}
    with pytest.raises(GRAMError, match="cannot go from DONE to ACTIVE") as e:
        check(JobState.DONE, JobState.ACTIVE)
    assert e.value.code == 23


def test_masks() -> None:
    m = mask(["done", "FAILED", 2])
    assert m == 8 | 4 | 2 and in_mask(JobState.DONE, m) and not in_mask(JobState.PENDING, m)
