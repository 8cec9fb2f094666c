"""Live updates: entries match as soon as they are added and stop matching as soon as
they are withdrawn, through the tail, frozen blocks and merges, without a rebuild."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from index_data import assert_exact, entries, flipped, random_rows

from veil.index import HammingIndex, build_index, empty_index, hamming
from veil.index.packing import unpack_hex


def small_tail_index() -> HammingIndex:
    # a tiny tail so a few hundred adds go through freezing and merging
    return HammingIndex("pdq", 256, tables=8, default_threshold=31, tail_rows=64)


def test_added_entry_matches_and_withdrawn_one_stops_at_once(rng: np.random.Generator) -> None:
    bank = entries(random_rows(rng, 20_000))
    index = build_index("pdq", bank)
    new = random_rows(rng, 1)[0]
    near = unpack_hex(flipped(rng, new, 12)[None])[0]
    assert index.match(near) == []
    index.add(999_999, "victims", "victim_submitted", unpack_hex(new[None])[0], watermark=5)
    [m] = index.match(near)
    assert (m.entry_id, m.bank, m.category, m.distance) == (999_999, "victims",
                                                            "victim_submitted", 12)
    assert index.watermark == 5
    assert index.withdraw(999_999, watermark=6) is True
    assert index.match(near) == []
    assert index.withdraw(999_999) is False
    # withdrawing from the bulk-built block works the same
    victim = bank[1234]
    assert [m.entry_id for m in index.match(victim[3])] == [victim[0]]
    assert index.withdraw(victim[0])
    assert index.match(victim[3]) == []
    assert len(index) == len(bank) - 1


@pytest.fixture(params=["plain", "cycle"])
def blocks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Frozen blocks as plain rows, or (threshold lowered) as cycle tables that
    merges must decode."""
    if request.param == "cycle":
        monkeypatch.setattr(hamming, "CYCLE_MIN_ROWS", 100)
    return str(request.param)


def test_many_adds_and_withdrawals_stay_exact(rng: np.random.Generator, blocks: str) -> None:
    index = small_tail_index()
    rows = random_rows(rng, 3_000)
    bank = entries(rows)
    for start in range(0, len(bank), 250):  # through tail freezes and block merges
        index.add_many(bank[start:start + 250])
    assert index.stats().blocks >= 2
    assert any(b.cycle is not None for b in index._view.blocks) == (blocks == "cycle")
    gone = set(range(1, len(bank) + 1, 7))
    assert len(index) == len(bank)  # counted now: the withdrawals below keep the counts
    assert index.withdraw_many(gone) == len(gone)
    live = [e for e in bank if e[0] not in gone]
    queries = unpack_hex(np.array([flipped(rng, rows[i], int(rng.integers(0, 34)))
                                   for i in range(0, 3_000, 11)]))
    assert_exact(index, live, queries, 31)
    assert len(index) == len(live)
    assert index.withdraw_many(gone) == 0 and len(index) == len(live)  # none twice
    back = [e for e in bank if e[0] in gone][:5]
    index.add_many(back)  # re-added: new rows, the old ones stay tombstoned
    assert len(index) == len(live) + 5
    assert index.withdraw_many({e[0] for e in back}) == 5 and len(index) == len(live)
    index.compact()
    assert index.stats().blocks == 1 and index.stats().rows == len(live)
    assert_exact(index, live, queries, 31)


def test_re_adding_an_id_replaces_its_value(rng: np.random.Generator) -> None:
    index = small_tail_index()
    a, b = unpack_hex(random_rows(rng, 2))
    index.add(1, "victims", "victim_submitted", a)
    index.add(1, "victims", "victim_submitted", b)
    assert index.match(a) == []
    assert [m.value for m in index.match(b, values=True)] == [b]
    assert len(index) == 1


def test_a_repeated_id_in_one_load_keeps_the_last_row(rng: np.random.Generator) -> None:
    a, b = unpack_hex(random_rows(rng, 2))
    index = build_index("pdq", [(1, "x", "imported", a, None), (1, "y", "imported", b, None)])
    assert len(index) == 1 and [m.bank for m in index.match(b)] == ["y"]


def test_withdrawn_hash_is_zeroed_in_memory(rng: np.random.Generator, blocks: str) -> None:
    bank = entries(random_rows(rng, 500))
    index = build_index("pdq", bank)
    index.withdraw(bank[10][0])
    (block,) = index._view.blocks
    held = unpack_hex(block.row_words(np.arange(block.n)))
    row = int(np.flatnonzero(block.entry_ids[:block.n] == bank[10][0])[0])
    assert bank[10][3] not in held
    if block.cycle is not None:
        # what is left is the top bits each record's position implies; every stored
        # chunk bit is zero
        value, rest = int(held[row], 16), 32 - block.cycle.top_bits
        chunks = [(value >> (224 - 32 * t)) & 0xFFFFFFFF for t in range(8)]
        assert all(c & ((1 << rest) - 1) == 0 for c in chunks)
    else:
        assert held[row] == "0" * 64
    assert bank[11][3] in held


def test_searches_run_while_entries_change(rng: np.random.Generator, blocks: str) -> None:
    """No torn reads: a search racing adds and withdrawals returns only entries that
    exist, and a stable entry is always found."""
    index = small_tail_index()
    stable = unpack_hex(random_rows(rng, 1))[0]
    index.add(0, "victims", "victim_submitted", stable)
    extra = entries(random_rows(rng, 2_000), first_id=1)
    errors: list[BaseException] = []
    done = threading.Event()

    def search() -> None:
        try:
            while not done.is_set():
                assert [m.entry_id for m in index.match(stable)] == [0]
        except BaseException as exc:  # reported below
            errors.append(exc)

    t = threading.Thread(target=search)
    t.start()
    for start in range(0, len(extra), 100):
        index.add_many(extra[start:start + 100])
        index.withdraw_many(e[0] for e in extra[start:start + 50])
    done.set()
    t.join()
    assert not errors, errors[0]
    assert len(index) == 1 + len(extra) // 2


def test_an_empty_index_matches_nothing(rng: np.random.Generator) -> None:
    index = empty_index("pdq")
    assert len(index) == 0
    assert index.search(unpack_hex(random_rows(rng, 3))) == [[], [], []]
    assert index.search([]) == []
    assert index.withdraw(5) is False
    index.compact()
    assert index.stats().blocks == 0


@pytest.mark.parametrize("signal", ["md5", "sha256"])
def test_digest_indexes_match_only_identical_values(signal: str,
                                                    rng: np.random.Generator) -> None:
    words = 2 if signal == "md5" else 4
    rows = random_rows(rng, 40_000, words)  # big enough for cycle tables (4 or 8)
    bank = entries(rows)
    index = build_index(signal, bank)
    assert index._view.blocks[0].cycle is not None
    near = unpack_hex(flipped(rng, rows[3], 1)[None])[0]
    assert [m.entry_id for m in index.match(bank[3][3])] == [bank[3][0]]
    assert index.match(near) == []
    found = index.search([e[3] for e in bank[::397]], values=True)
    assert [[(m.entry_id, m.value) for m in f] for f in found] == [
        [(e[0], e[3])] for e in bank[::397]]
    index.withdraw(bank[3][0])
    assert index.match(bank[3][3]) == []


@pytest.mark.parametrize("signal", ["phash", "dhash"])
def test_64_bit_signals_are_scanned_exactly(signal: str, rng: np.random.Generator) -> None:
    rows = random_rows(rng, 20_000, 1)
    bank = entries(rows)
    index = build_index(signal, bank)
    assert index.tables == 0
    queries = unpack_hex(np.array([flipped(rng, rows[i], i % 14) for i in range(0, 20_000, 500)]))
    assert_exact(index, bank, queries, 10)
    assert_exact(index, bank, queries, 20)
