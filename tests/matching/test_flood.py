"""``FloodWatch``: distinct pictures per entry, bank shares against their baseline;
repeats and light edits of one picture never flood; memory stays bounded."""

from __future__ import annotations

import numpy as np

from veil.config import FloodSettings
from veil.matching.flood import FloodWatch
from veil.verdict import Match, Quarantines

NONE = Quarantines()


def rand(rng: np.random.Generator) -> str:
    return rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex()


def flip(value: str, bits: int) -> str:
    return f"{int(value, 16) ^ ((1 << bits) - 1):064x}"


def hit(entry: int, bank: str = "imp") -> Match:
    return Match(signal="pdq", entry_id=entry, bank=bank, category="imported", distance=5,
                 threshold=31)


def limits(**kw: object) -> FloodSettings:
    base: dict[str, object] = {"window": 100, "entry_max_uploads": 10, "entry_window": 1000,
                               "distinct_bits": 20, "bank_min_matches": 10,
                               "bank_min_share": 0.2, "bank_factor": 5.0}
    return FloodSettings(**(base | kw))


def test_distinct_pictures_trip_an_entry_and_repeats_never_do() -> None:
    rng = np.random.default_rng(0)
    watch = FloodWatch(limits(bank_min_share=1.0))
    picture = rand(rng)
    for i in range(500):  # one picture, scanned again and again, lightly edited
        assert watch.observe({"pdq": flip(picture, i % 12)}, [hit(1)], NONE, "key:1") == []
    trips = []
    for _ in range(9):  # unrelated pictures (about 128 bits apart from each other)
        trips += watch.observe({"pdq": rand(rng)}, [hit(1)], NONE, "key:2")
    assert [(t.kind, t.entry_id) for t in trips] == [("entry", 1)]
    assert trips[0].detail["distinct_uploads"] == 10
    assert trips[0].detail["callers"] == ["key:1", "key:2"]
    # tripped: its count starts again (a released entry must earn a new quarantine)
    assert watch.observe({"pdq": rand(rng)}, [hit(1)], NONE) == []


def test_a_quarantined_entry_is_not_counted_and_old_uploads_expire() -> None:
    rng = np.random.default_rng(1)
    watch = FloodWatch(limits(entry_window=20, bank_min_share=1.0))
    held = Quarantines(entries=frozenset({1}))
    for _ in range(50):
        assert watch.observe({"pdq": rand(rng)}, [hit(1)], held) == []
    for _ in range(100):  # 9 distinct in every 20 uploads: never 10 within the window
        for j in range(20):
            m = [hit(2)] if j < 9 else []
            assert watch.observe({"pdq": rand(rng)}, m, NONE) == []


def test_a_bank_whose_share_jumps_is_quarantined() -> None:
    rng = np.random.default_rng(2)
    watch = FloodWatch(limits(entry_max_uploads=1000, bank_min_share=0.05))
    # a steady bank: 2 of every 100 uploads match (different entries)
    entry = 0
    for _ in range(10):
        for j in range(100):
            entry += 1
            m = [hit(entry)] if j < 2 else []
            assert watch.observe({"pdq": rand(rng)}, m, NONE) == []
    assert 0.015 < watch.baselines["imp"] < 0.025
    # now a third of the uploads match it: well over 5× the baseline (and over 5%)
    trips = []
    for j in range(100):
        entry += 1
        trips += watch.observe({"pdq": rand(rng)}, [hit(entry)] if j % 3 == 0 else [], NONE)
    assert [(t.kind, t.bank) for t in trips] == [("bank", "imp")]
    assert trips[0].detail["matched_uploads"] == 10  # the floor of bank_min_matches
    assert trips[0].detail["baseline"] < 0.025


def test_memory_is_bounded_and_a_disabled_watch_counts_nothing() -> None:
    rng = np.random.default_rng(3)
    watch = FloodWatch(limits(max_tracked_entries=50, bank_min_share=1.0))
    for i in range(1000):
        watch.observe({"pdq": rand(rng)}, [hit(i)], NONE)
    assert watch.tracked_entries() == 50
    off = FloodWatch(limits(enabled=False))
    assert all(off.observe({"pdq": rand(rng)}, [hit(1)], NONE) == [] for _ in range(100))
    assert off.uploads == 0
