"""Bank policies in the matcher: per-bank thresholds (never wider than the service's
cap, always tightened by a caller's), disabled banks, and quarantines reloaded with
the change feed."""

from __future__ import annotations

import numpy as np

from veil.config import Settings
from veil.matching import BankMatcher
from veil.store import Store, open_store


def pdq(seed: int) -> str:
    return np.random.default_rng(seed).integers(0, 256, 32, dtype=np.uint8).tobytes().hex()


def flip(value: str, bits: int) -> str:
    return f"{int(value, 16) ^ ((1 << bits) - 1):064x}"


def found(m: BankMatcher, value: str, threshold: int | None = None) -> list[tuple[str, int, int]]:
    return [(x.bank, x.distance, x.threshold) for x in m.search("pdq", [value], threshold)[0]]


def test_a_bank_threshold_tightens_its_own_matches(store: Store) -> None:
    value = pdq(1)
    for name in ("strict", "loose"):
        store.create_bank(name, "imported", actor="t")
        store.add_entry(name, "pdq", value, actor="t")
    store.update_bank_policy("strict", {"thresholds": {"pdq": 10}}, actor="t")
    m = BankMatcher.load(store.settings, store, snapshots=False)
    assert found(m, flip(value, 20)) == [("loose", 20, 31)]
    assert sorted(found(m, flip(value, 8))) == [("loose", 8, 31), ("strict", 8, 10)]
    # a caller's tighter threshold tightens every bank's
    assert found(m, flip(value, 8), 5) == []
    assert sorted(found(m, flip(value, 4), 5)) == [("loose", 4, 5), ("strict", 4, 5)]
    # and through verdicts: the same search
    v = m.decide(m.search("pdq", [flip(value, 20)])[0])
    assert v.decision == "review" and "threshold 31" in v.reasons[0]


def test_a_bank_threshold_widens_only_up_to_the_service_cap(settings: Settings) -> None:
    value = pdq(2)
    wide = settings.with_(max_thresholds={"pdq": 40})
    with open_store(wide) as store:
        store.create_bank("protected", "protected_photo", {"thresholds": {"pdq": 40}},
                          actor="t")
        store.create_bank("other", "imported", actor="t")
        store.add_entry("protected", "pdq", value, actor="t")
        store.add_entry("other", "pdq", value, actor="t")
        m = BankMatcher.load(wide, store, snapshots=False)
        assert found(m, flip(value, 38)) == [("protected", 38, 40)]  # the others at 31
        # the cap lowered since the policy was set: the bank is clamped to it
        tight = BankMatcher.load(settings, store, snapshots=False)
        assert found(tight, flip(value, 38)) == []
        assert sorted(found(tight, flip(value, 30))) == [("other", 30, 31),
                                                         ("protected", 30, 31)]


def test_disabled_banks_and_quarantines_follow_the_feed(store: Store) -> None:
    value = pdq(3)
    store.create_bank("ncii", "confirmed_ncii", actor="t")
    e = store.add_entry("ncii", "pdq", value, actor="t")
    m = BankMatcher.load(store.settings, store, snapshots=False)
    assert m.decide(m.search("pdq", [value])[0]).decision == "block"
    store.update_bank_policy("ncii", {"enabled": False}, actor="t", merge=True)
    m.catch_up(store)
    v = m.decide(m.search("pdq", [value])[0])
    assert v.decision == "allow" and "the bank is disabled" in v.reasons[-1]
    store.update_bank_policy("ncii", {"enabled": True}, actor="t", merge=True)
    q, _ = store.quarantine("entry", "ncii", e.id, detail={}, actor="t")
    m.catch_up(store)
    assert m.decide(m.search("pdq", [value])[0]).decision == "review"
    store.decide_quarantine(q.id, "release", actor="t")
    m.catch_up(store)
    assert m.decide(m.search("pdq", [value])[0]).decision == "block"
