"""Post-commit hooks: whoever holds a live index hears of every committed change, and of
nothing that was rolled back; the API and CLI see the store only through ``BankStore``."""

from __future__ import annotations

import inspect

import pytest

from veil.errors import Conflict
from veil.store import BankStore, HashRow, Store


def test_hooks_hear_each_committed_change_by_topic(store: Store) -> None:
    heard: list[str] = []
    store.after_commit(heard.append)
    store.create_bank("b", "imported", actor="t")
    e = store.add_entry("b", "pdq", "0" * 64, actor="t")
    store.import_entries("b", [HashRow("pdq", "1" * 64)], actor="t")
    store.set_status(e.id, "disputed", actor="t")
    store.withdraw(e.id, actor="t")
    store.create_api_key(["platform"], actor="t")
    store.add_match_counts({})
    assert heard == ["banks", "banks", "banks", "banks", "banks", "keys"]
    with pytest.raises(Conflict):
        store.create_bank("b", "imported", actor="t")  # rolled back: nothing to hear
    assert len(heard) == 6


def test_a_failing_hook_does_not_undo_or_hide_the_commit(store: Store) -> None:
    def broken(_: str) -> None:
        raise RuntimeError("index unavailable")

    store.after_commit(broken)
    store.create_bank("kept", "imported", actor="t")
    assert store.get_bank("kept").name == "kept"


def test_store_satisfies_the_narrow_interface() -> None:
    members = [n for n in dir(BankStore) if not n.startswith("_")]
    for name in members:
        if name == "settings":
            continue
        want = inspect.signature(getattr(BankStore, name))
        got = inspect.signature(getattr(Store, name))
        assert list(want.parameters) == list(got.parameters), name


def test_erasure_leaves_the_withdrawal_only_where_it_is_slow(store: Store) -> None:
    """The store decides by its database, whoever opened it: PostgreSQL's VACUUM runs
    on the eraser thread; SQLite's WAL truncation stays in the withdrawal."""
    store.start_eraser()
    assert store._offload_erasure == (store.engine.dialect.name == "postgresql")
    if store.engine.dialect.name == "sqlite":
        store.create_bank("b", "imported", actor="t")
        e = store.add_entry("b", "pdq", "ab" * 32, actor="t")
        store.withdraw(e.id, actor="t")
        with open(f"{store.engine.url.database}-wal", "rb") as f:
            assert b"ab" * 32 not in f.read()  # checkpointed and truncated already
