"""The change feed: entries stamped with the generation that changed them, read back
by ``Store.changes`` as their current state (what keeps other processes' indexes current)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from veil.store import HashRow, Store
from veil.store.cases import CaseSignalIn
from veil.store.models import Entry


def pdq(i: int) -> str:
    return f"{i:064x}"


def feed(store: Store, after: int, signal: str = "pdq") -> dict[int, tuple[object, ...]]:
    upto = store.watermark()
    return {c.entry_id: (c.value, c.status) for c in store.changes(signal, after=after,
                                                                    upto=upto)}


@pytest.fixture
def bank(store: Store) -> str:
    store.create_bank("ncii", "confirmed_ncii", actor="test")
    return "ncii"


def test_every_kind_of_change_is_in_the_feed_once_in_its_current_state(
        store: Store, bank: str) -> None:
    w0 = store.watermark()
    a = store.add_entry(bank, "pdq", pdq(1), actor="t")
    store.import_entries(bank, [HashRow("pdq", pdq(2)), HashRow("pdq", pdq(3)),
                                HashRow("md5", "0" * 32)], actor="t")
    ids = {c.value: c.entry_id for c in store.changes("pdq", after=w0, upto=store.watermark())}
    assert feed(store, w0) == {a.id: (pdq(1), "active"), ids[pdq(2)]: (pdq(2), "active"),
                               ids[pdq(3)]: (pdq(3), "active")}
    assert list(feed(store, w0, "md5").values()) == [("0" * 32, "active")]

    w1 = store.watermark()
    assert feed(store, w1) == {}
    store.set_status(ids[pdq(2)], "disputed", actor="t")
    store.withdraw(a.id, actor="t")
    assert feed(store, w1) == {ids[pdq(2)]: (pdq(2), "disputed"), a.id: (None, "withdrawn")}
    # a later change supersedes an earlier one: one row, as it is now
    w2 = store.watermark()
    store.set_status(ids[pdq(2)], "active", actor="t")
    assert feed(store, w1)[ids[pdq(2)]] == (pdq(2), "active")
    assert feed(store, w2) == {ids[pdq(2)]: (pdq(2), "active")}
    # the category comes with each row (what the index labels matches with)
    row = next(iter(store.changes("pdq", after=w2, upto=store.watermark())))
    assert (row.bank, row.category, row.active) == (bank, "confirmed_ncii", True)


def test_feed_reads_a_window_and_changes_without_entries_stamp_nothing(
        store: Store, bank: str) -> None:
    w0 = store.watermark()
    store.add_entry(bank, "pdq", pdq(1), actor="t")
    w1 = store.watermark()
    store.add_entry(bank, "pdq", pdq(2), actor="t")
    store.update_bank_policy(bank, {"action": "block"}, actor="t")
    w2 = store.watermark()
    assert w2 == w1 + 2
    assert [c.value for c in store.changes("pdq", after=w0, upto=w1)] == [pdq(1)]
    assert [c.value for c in store.changes("pdq", after=w1, upto=w2)] == [pdq(2)]
    with store.engine.connect() as conn:
        stamps = sorted(conn.execute(select(Entry.generation)).scalars())
    assert stamps == [w1, w1 + 1]


def test_victim_cases_and_their_withdrawal_are_in_the_feed(store: Store) -> None:
    w0 = store.watermark()
    made = store.create_case([CaseSignalIn("pdq", pdq(7), 90)], {"consent": True},
                             bank="victims", actor="intake")
    (_signal, entry), = made.added
    assert feed(store, w0) == {entry.entry_id: (pdq(7), "active")}
    w1 = store.watermark()
    store.withdraw_case(made.case_id, actor="victim")
    assert feed(store, w1) == {entry.entry_id: (None, "withdrawn")}


def test_a_failed_import_stamps_nothing(store: Store, bank: str) -> None:
    from veil.store import RowError

    w0 = store.watermark()
    report = store.import_entries(bank, [HashRow("pdq", pdq(1)), RowError(2, "bad")],
                                  actor="t")
    assert not report.ok
    assert store.watermark() == w0
    with store.engine.connect() as conn:
        assert conn.execute(select(Entry.id)).first() is None


def test_generations_commit_in_order_under_concurrent_writers(store: Store, bank: str) -> None:
    """Readers that catch up at arbitrary moments, while four threads write, end with
    exactly the store's active set: no change is skipped by the feed's windows."""
    known: dict[int, str] = {}
    mark = store.watermark()
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(40):
                e = store.add_entry(bank, "pdq", pdq(1000 * k + i), actor=f"w{k}")
                if i % 3 == 0:
                    store.withdraw(e.id, actor=f"w{k}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()

    def catch_up() -> None:
        nonlocal mark
        upto = store.watermark()
        for c in store.changes("pdq", after=mark, upto=upto):
            if c.active:
                known[c.entry_id] = str(c.value)
            else:
                known.pop(c.entry_id, None)
        mark = upto

    while any(t.is_alive() for t in threads):
        catch_up()
    for t in threads:
        t.join()
    catch_up()
    assert not errors
    assert known == {e.entry_id: e.value for e in store.iter_active("pdq")}
    assert len(known) == 4 * 26
