"""The index returns exactly what brute force returns: every entry within the
threshold, at its true distance, once, including planted neighbours at every
distance 0…threshold+2 and queries into clusters of near-identical hashes."""

from __future__ import annotations

import numpy as np
import pytest
from index_data import assert_exact, cluster, entries, flipped, random_rows

from veil.index import build_index, hamming
from veil.index import multi_index as mi
from veil.index.packing import unpack_hex

THRESHOLD = 31
N = 150_000


@pytest.fixture(scope="module")
def planted() -> tuple[list, list[str], list[int]]:
    """A bank of random hashes with neighbours of each query planted at every
    distance 0…33, plus a cluster of 10k hashes within 10 bits of one another."""
    rng = np.random.default_rng(7)
    rows = random_rows(rng, N)
    queries, distances = [], []
    slot = iter(rng.permutation(N - 10_000))
    for d in range(THRESHOLD + 3):
        for _ in range(3):
            q = random_rows(rng, 1)[0]
            rows[next(slot)] = flipped(rng, q, d)
            queries.append(q)
            distances.append(d)
    centre = random_rows(rng, 1)[0]
    rows[N - 10_000:] = cluster(rng, centre, 10_000, 5)
    for d in (0, 3, 10, 20, 26, 31, 33, 36, 40, 48):
        queries.append(flipped(rng, centre, d))
        distances.append(-1)
    return entries(rows), unpack_hex(np.array(queries)), distances


@pytest.fixture(scope="module")
def index(planted):  # type: ignore[no-untyped-def]
    bank, _, _ = planted
    return build_index("pdq", bank)


def test_planted_neighbours_at_every_distance_are_found(index, planted) -> None:  # type: ignore[no-untyped-def]
    bank, queries, distances = planted
    found = assert_exact(index, bank, queries, THRESHOLD)
    for q, d, f in zip(queries, distances, found, strict=True):
        if d < 0:
            continue
        at = [m.distance for m in f]
        assert (d in at) == (d <= THRESHOLD), f"planted neighbour at {d} of {q}"
        assert all(x <= THRESHOLD for x in at)


def test_cluster_queries_return_the_whole_cluster(index, planted) -> None:  # type: ignore[no-untyped-def]
    _, queries, distances = planted
    found = index.search([q for q, d in zip(queries, distances, strict=True) if d < 0])
    # the centre itself matches all 10k members (each within 5 bits): far more than
    # one kernel pass keeps room for, so this also covers the overflow rerun
    assert len(found[0]) >= 10_000 > mi.FIRST_PASS_CAP
    assert len({m.entry_id for m in found[0]}) == len(found[0])


@pytest.mark.parametrize("threshold", [0, 1, 7, 15, 16, 24, 35, 40, 64, 100])
def test_every_threshold_matches_brute_force(index, planted, threshold: int) -> None:  # type: ignore[no-untyped-def]
    """Up to ~50 bits the cycle tables are probed; beyond, the block is decoded and
    scanned: both exact."""
    bank, queries, _ = planted
    assert index._view.blocks[0].cycle is not None
    assert_exact(index, bank, queries[::4], threshold)


def test_cycle_tables_give_back_every_hash(index, planted) -> None:  # type: ignore[no-untyped-def]
    bank, _, _ = planted
    (block,) = index._view.blocks
    values = unpack_hex(block.row_words(np.arange(block.n)))
    by_id = {e[0]: e[3] for e in bank}
    assert all(by_id[int(i)] == v for i, v in zip(block.entry_ids[:block.n], values,
                                                   strict=True))
    # the whole hash is stored once, spread over 8 tables of 5-byte records
    assert block.cycle.nbytes / block.n < 32 * 1.5


def test_results_are_sorted_and_carry_bank_and_value(index, planted) -> None:  # type: ignore[no-untyped-def]
    bank, queries, _ = planted
    by_id = {e[0]: e for e in bank}
    for f in index.search(queries[:40], values=True):
        assert [m.distance for m in f] == sorted(m.distance for m in f)
        for m in f:
            _, b, c, v, _ = by_id[m.entry_id]
            assert (m.bank, m.category, m.value) == (b, c, v)
    # without values=True no hash is decoded: callers identify entries by id
    assert all(m.value is None for f in index.search(queries[:40]) for m in f)


def test_probe_radii_satisfy_pigeonhole() -> None:
    for tables in (1, 2, 8):
        for r in range(0, 70):
            radii = mi.probe_radii(r, tables)
            assert len(radii) == tables
            assert int((radii + 1).sum()) == r + 1
            assert radii.max() - radii.min() <= 1


@pytest.mark.parametrize("cycle_min", [1, hamming.CYCLE_MIN_ROWS])
def test_small_blocks_and_tiny_directories(rng: np.random.Generator, cycle_min: int,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of every small size agree, as plain rows and as cycle tables with
    1-bit directories (scan vs probe choices included)."""
    monkeypatch.setattr(hamming, "CYCLE_MIN_ROWS", cycle_min)
    for n in (1, 2, 3, 17, 300, 5000):
        rows = random_rows(rng, n)
        queries = [flipped(rng, rows[int(rng.integers(n))], int(d)) for d in range(0, 40, 3)]
        bank = entries(rows)
        index = build_index("pdq", bank)
        for t in (0, 10, 31, 33, 256):
            assert_exact(index, bank, unpack_hex(np.array(queries)), t)


def test_probing_is_used_and_exact_when_forced(planted, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The cost model may prefer scanning; with it pinned to probing, still exact."""
    bank, queries, _ = planted
    monkeypatch.setattr(mi, "scan_cost", lambda n, decoded=False: float("inf"))
    monkeypatch.setattr(hamming, "CYCLE_MIN_ROWS", 1000)
    index = build_index("pdq", bank[:20_000])
    assert index._view.blocks[0].cycle is not None
    for t in (5, 31, 40):
        assert_exact(index, bank[:20_000], queries[::3], t)


def test_agrees_with_faiss_exact_binary_index(index, planted) -> None:  # type: ignore[no-untyped-def]
    """A second, independent reference: FAISS's brute-force binary index."""
    import faiss

    bank, queries, _ = planted
    flat = faiss.IndexBinaryFlat(256)
    flat.add(np.frombuffer(b"".join(bytes.fromhex(e[3]) for e in bank), np.uint8).reshape(-1, 32))
    q = np.frombuffer(b"".join(bytes.fromhex(h) for h in queries), np.uint8).reshape(-1, 32)
    lims, dist, rows = flat.range_search(q, THRESHOLD + 1)  # FAISS: distance < radius
    found = index.search(queries)
    for i, f in enumerate(found):
        want = sorted((bank[r][0], int(d)) for r, d in zip(rows[lims[i]:lims[i + 1]],
                                                           dist[lims[i]:lims[i + 1]], strict=True))
        assert sorted((m.entry_id, m.distance) for m in f) == want
