"""``BankMatcher.catch_up``: a loaded matcher catches up with what another process
committed, through the store's change feed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from veil.config import Settings, snapshot_path
from veil.errors import StoreError
from veil.index import save_snapshot
from veil.matching import BankMatcher
from veil.store import HashRow, Store, open_store


def pdq(rng: np.random.Generator) -> str:
    return rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex()


def near(value: str, bits: int) -> str:
    """``value`` with its first ``bits`` bits flipped."""
    n = int(value, 16) ^ (((1 << bits) - 1) << (256 - bits))
    return f"{n:064x}"


def matched(m: BankMatcher, value: str) -> list[tuple[int, str, int]]:
    return [(x.entry_id, x.bank, x.distance) for x in m.search("pdq", [value], 31)[0]]


@pytest.fixture
def other(settings: Settings) -> Iterator[Store]:
    """The store as another process sees it: its own engine and connections."""
    with open_store(settings) as s:
        yield s


def test_adds_imports_disputes_withdrawals_and_policies_from_elsewhere(
        settings: Settings, store: Store, other: Store) -> None:
    rng = np.random.default_rng(7)
    store.create_bank("ncii", "confirmed_ncii", actor="t")
    a = store.add_entry("ncii", "pdq", pdq(rng), actor="t")
    m = BankMatcher.load(settings, store, snapshots=False)
    assert m.catch_up(store).changed is False

    b = other.add_entry("ncii", "pdq", pdq(rng), actor="elsewhere")
    rows = [pdq(rng) for _ in range(5000)]
    other.create_bank("imported", "protected_photo", {"action": "review"}, actor="elsewhere")
    other.import_entries("imported", [HashRow("pdq", v) for v in rows], actor="elsewhere")
    assert matched(m, near(b.value or "", 5)) == []  # not seen before catching up
    done = m.catch_up(store)
    assert (done.added, done.removed, done.banks_reloaded) == (5001, 0, True)
    assert matched(m, near(b.value or "", 5)) == [(b.id, "ncii", 5)]
    assert matched(m, near(rows[-1], 31))[0][1:] == ("imported", 31)
    assert m.banks["imported"].policy.action == "review"
    assert len(m) == 5002

    other.withdraw(a.id, actor="victim")
    other.set_status(b.id, "disputed", actor="platform")
    other.update_bank_policy("imported", {"action": "block"}, actor="admin")
    done = m.catch_up(store)
    assert (done.added, done.removed) == (0, 2)
    assert matched(m, a.value or "") == [] and matched(m, b.value or "") == []
    assert m.banks["imported"].policy.action == "block"

    other.set_status(b.id, "active", actor="reviewer")
    assert m.catch_up(store).added == 1
    assert matched(m, b.value or "") == [(b.id, "ncii", 0)]
    assert m.catch_up(store).changed is False  # idempotent once current


def test_a_withdrawal_deletes_the_snapshot_that_held_the_hash(
        settings: Settings, store: Store, tmp_path: Path) -> None:
    """Made on another host (its own VEIL_HOME): the store there deletes its own
    snapshot, and this matcher's catch-up deletes this one."""
    rng = np.random.default_rng(8)
    other = open_store(settings.with_(home=tmp_path / "elsewhere",
                                      database_url=settings.database_url))
    store.create_bank("victims", "victim_submitted", actor="t")
    a = store.add_entry("victims", "pdq", pdq(rng), actor="t")
    m = BankMatcher.load(settings, store, snapshots=False)
    path = save_snapshot(m.indexes["pdq"], snapshot_path(settings.home, "pdq"))
    assert path.exists()

    other.add_entry("victims", "pdq", pdq(rng), actor="t")
    m.catch_up(store)
    assert path.exists()  # adds leave it (behind: caught up through the feed at the next start)
    other.withdraw(a.id, actor="victim")
    other.close()
    assert path.exists()
    m.catch_up(store)
    assert not path.exists()


def test_a_snapshot_behind_the_store_is_caught_up_through_the_feed(
        settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A restart after changes: the snapshot this store wrote is loaded and the feed
    applied from its watermark (no full read of the store); a snapshot of another
    store is rebuilt instead, and the replay is written back once it is large."""
    rng = np.random.default_rng(9)
    settings = settings.with_(index_snapshot_min_entries=1)
    store.create_bank("victims", "victim_submitted", actor="t")
    a = store.add_entry("victims", "pdq", pdq(rng), actor="t")
    b = store.add_entry("victims", "pdq", pdq(rng), actor="t")
    path = snapshot_path(settings.home, "pdq")
    BankMatcher.load(settings, store, signals=["pdq"])
    written = path.stat().st_mtime_ns
    c = store.add_entry("victims", "pdq", pdq(rng), actor="t")
    store.disable_entry(b.id, actor="t", reason="test")  # removed, hash kept

    reads: list[str] = []
    real = Store.iter_active
    monkeypatch.setattr(Store, "iter_active",
                        lambda self, signal: reads.append(signal) or real(self, signal))
    m = BankMatcher.load(settings, store, signals=["pdq"])
    assert reads == [], "a snapshot from this store is caught up, not rebuilt"
    assert m.indexes["pdq"].watermark == store.watermark()
    assert matched(m, near(c.value or "", 3)) == [(c.id, "victims", 3)]
    assert matched(m, a.value or "") == [(a.id, "victims", 0)]
    assert matched(m, b.value or "") == []
    # one replayed row of two: past the rewrite share, so written back, current
    assert path.stat().st_mtime_ns != written

    with store.engine.begin() as conn:  # as if the database were another store's
        conn.exec_driver_sql("UPDATE store_state SET identity = 'ffffffffffffffffffffffffffffffff'")
    store.add_entry("victims", "pdq", pdq(rng), actor="t")
    BankMatcher.load(settings, store, signals=["pdq"])
    assert reads == ["pdq"], "a snapshot of another store is rebuilt"


def test_reloading_bank_policies_counts_no_entries(
        settings: Settings, store: Store, other: Store) -> None:
    """A policy change reloads the banks at the next catch-up; counting every bank's
    entries on the way (a scan of millions) is the admin listing's business."""
    from sqlalchemy import event

    rng = np.random.default_rng(9)
    store.create_bank("ncii", "confirmed_ncii", actor="t")
    store.add_entry("ncii", "pdq", pdq(rng), actor="t")
    m = BankMatcher.load(settings, store, snapshots=False)
    other.update_bank_policy("ncii", {"action": "review"}, actor="admin")
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        assert m.catch_up(store).banks_reloaded
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert m.banks["ncii"].policy.action == "review"
    assert not [q for q in statements if "count(" in q.lower()], statements


def test_an_index_ahead_of_the_store_is_refused(settings: Settings, store: Store) -> None:
    m = BankMatcher.load(settings, store, snapshots=False)
    m.indexes["pdq"].watermark = store.watermark() + 5  # e.g. a database restored from backup
    with pytest.raises(StoreError) as e:
        m.catch_up(store)
    assert e.value.code == "index.ahead_of_store"


def test_a_large_import_is_applied_in_steps(settings: Settings, store: Store, other: Store,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import veil.matching.matcher

    monkeypatch.setattr(veil.matching.matcher, "FEED_CHUNK", 1000)
    rng = np.random.default_rng(9)
    m = BankMatcher.load(settings, store, snapshots=False)
    other.create_bank("big", "confirmed_ncii", actor="t")
    values = [pdq(rng) for _ in range(12_345)]
    other.import_entries("big", [HashRow("pdq", v) for v in values], actor="t")
    assert m.catch_up(store).added == 12_345
    assert all(matched(m, v) for v in values[::997])


