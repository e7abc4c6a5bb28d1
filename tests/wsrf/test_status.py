"""The WS-Resource status machine (wsrf/status.py) and the store that follows it."""

from __future__ import annotations

import pytest

from wrapgen.wsrf.status import ACTIVE, TERMINAL, TRANSITIONS, Status, can
from wrapgen.wsrf.store import Store


def test_the_table() -> None:
    assert TERMINAL == {Status.SUCCEEDED, Status.FAILED, Status.CANCELLED}
    assert ACTIVE == {Status.CREATED, Status.RUNNING}
    assert can("Created", "Running") and can("Running", "Cancelled") and not can("Succeeded", "Running")
    assert not can("Created", "Succeeded")  # a computation never finishes without having run
    every = {s for after in TRANSITIONS.values() for s in after} | set(TRANSITIONS)
    assert every == set(Status)
    with pytest.raises(ValueError):
        can("Created", "Done")


def test_the_store_moves_only_along_the_table(tmp_path) -> None:
    store = Store(str(tmp_path / "s.db"))
    key = store.create("lib", "f", {}, None)
    assert store.get(key).status == "Created"
    assert not store.finish(key, "Succeeded")  # not Running
    with pytest.raises(ValueError, match="not 'Cancelled'"):
        store.finish(key, "Cancelled")  # cancelling is cancel()'s, which also stops the process
    assert store.mark_running(key) and not store.mark_running(key)
    assert not store.set_params(key, {"n": 1})  # parameters are fixed once it runs
    assert store.finish(key, "Failed", error="boom")
    assert store.cancel(key) == (False, None)  # a finished computation stays as it ended
    assert store.get(key).status == "Failed"
    other = store.create("lib", "f", {}, None)
    assert store.cancel(other)[0] and store.get(other).status == "Cancelled"
    assert not store.mark_running(other)
