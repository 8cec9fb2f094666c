"""Multi-index hashing over packed hashes: probe plans and exact search.

A hash of ``32·m`` bits or more is cut into ``m`` chunks of 32 bits. If two hashes
differ in at most ``r`` bits and chunk ``t`` is probed at radius ``s_t`` with
``Σ (s_t + 1) > r``, some chunk differs in at most ``s_t`` bits (pigeonhole), so
probing every chunk value within ``s_t`` of the query's finds every such hash and
the search is exact. For PDQ at r = 31 that is 8 tables at radius 3.

The tables themselves are ``cycle``'s, which hold each hash once, spread over its
chunk tables; blocks too small to be worth tables keep plain rows and are scanned.
The designs measured against it are in BENCHMARKS.md.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from math import comb

import numpy as np

from veil.index.cycle import CycleTables

#: Matches per query the first kernel pass keeps room for; queries with more (a
#: cluster of near-identical bank hashes) are rerun alone with an exact buffer.
FIRST_PASS_CAP = 32
#: Smallest batch searched on all cores; smaller ones run on the calling thread.
PARALLEL_MIN = 4
#: Largest probe radius per chunk with a precomputed flip table; beyond it the
#: enumeration costs more than a scan at any bank size worth indexing.
MAX_CHUNK_RADIUS = 6
#: Per-item costs (~ns) for choosing between probing and scanning a block: a
#: directory probe (a random cache line), a bucket member check (sequential), a
#: row compared in a scan, a row of a cycle block decoded and compared (a walk of
#: random reads). With them the model switches near ~30k plain rows at radius 31.
_COST_PROBE, _COST_MEMBER, _COST_SCAN, _COST_DECODE = 12.0, 1.0, 1.5, 60.0
#: Rows of a cycle block decoded per step when it has to be scanned.
DECODE_ROWS = 65_536
#: A scan of plain rows costing at most this many (query, row) comparisons runs in
#: numpy, not in a compiled kernel: a scan's few queries against a small bank cost
#: microseconds either way, and a process that only does such searches (``veil
#: scan`` against a small bank) never imports numba or loads its kernels (0.45 s
#: measured, bench/scan_phases.py). The numpy temporaries stay under 8 MiB.
NUMPY_SCAN_MAX = 1 << 18


def probe_radii(radius: int, tables: int) -> np.ndarray:
    """Per-table probe radii with ``Σ (s + 1) == radius + 1`` (-1: table unused)."""
    if tables < 1:
        raise ValueError("no tables to probe")
    base, extra = divmod(radius + 1, tables)
    return np.array([base if t < extra else base - 1 for t in range(tables)], np.int64)


@lru_cache(maxsize=64)
def flip_masks(bits: int, max_pop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All ``bits``-wide masks with at most ``max_pop`` set bits, fewest first.

    Returns (masks, popcount of each, number of masks with popcount <= s for each s).
    """
    masks: list[int] = []
    pops: list[int] = []
    upto: list[int] = []
    for k in range(max_pop + 1):
        for ones in itertools.combinations(range(bits), k):
            masks.append(sum(1 << b for b in ones))
            pops.append(k)
        upto.append(len(masks))
    return (np.array(masks, np.uint32), np.array(pops, np.int64), np.array(upto, np.int64))


def probe_cost(n: int, top_bits: int, radii: np.ndarray) -> float:
    probes = sum(sum(comb(top_bits, k) for k in range(int(s) + 1)) for s in radii if s >= 0)
    return probes * (_COST_PROBE + _COST_MEMBER * n / (1 << top_bits))


def scan_cost(n: int, *, decoded: bool = False) -> float:
    return (_COST_DECODE if decoded else _COST_SCAN) * n


@dataclass(frozen=True)
class RowHits:
    """Flat search output: query ``query[i]`` is ``distance[i]`` bits from row ``row[i]``."""

    query: np.ndarray  # int64
    row: np.ndarray  # int64
    distance: np.ndarray  # int64


def _flatten(counts: np.ndarray, out_rows: np.ndarray, out_dist: np.ndarray,
             cap: int) -> RowHits:
    kept = np.minimum(counts, cap)
    mask = np.arange(cap)[None, :] < kept[:, None]
    return RowHits(np.repeat(np.arange(len(counts)), kept), out_rows[mask].astype(np.int64),
                   out_dist[mask].astype(np.int64))


def search_rows(words: np.ndarray | None, dead: np.ndarray, cycle: CycleTables | None,
                queries: np.ndarray, radius: int) -> RowHits:
    """Every live row within ``radius`` of each query (exact), probing the cycle
    tables or scanning the rows, whichever the cost model says is cheaper. A block
    has ``words`` (plain rows) or ``cycle`` (its hashes live only there)."""
    n = dead.shape[0]
    if n == 0 or len(queries) == 0:
        empty = np.empty(0, np.int64)
        return RowHits(empty, empty, empty)
    if cycle is not None:
        radii = probe_radii(radius, cycle.tables)
        s_max = int(radii.max())
        if s_max <= MAX_CHUNK_RADIUS and (
                probe_cost(n, cycle.top_bits, radii) < scan_cost(n, decoded=True)):
            masks, pops, upto = flip_masks(cycle.top_bits, s_max)

            from veil.index import kernels

            def probe(qs, cap, out_rows, out_dist, counts):  # type: ignore[no-untyped-def]
                fn = (kernels.cycle_search if len(qs) >= PARALLEL_MIN
                      else kernels.cycle_search_serial)
                fn(cycle.dirs, cycle.records, cycle.inv, dead, cycle.top_bits,
                   cycle.row_bits, radii, masks, pops, upto, qs, radius, cap, out_rows,
                   out_dist, counts)
            return _collect(probe, queries)
        return _scan_decoded(cycle, dead, queries, radius)
    assert words is not None
    if len(queries) * n <= NUMPY_SCAN_MAX:
        return _scan_numpy(words, dead, queries, radius)
    return _collect(_scanner(words, dead, radius), queries)


def _scan_numpy(words: np.ndarray, dead: np.ndarray, queries: np.ndarray,
                radius: int) -> RowHits:
    """Every live row within ``radius`` of each query, by comparing all of them (for
    small work only: ``NUMPY_SCAN_MAX``); ordered by query, then row, like the kernels'."""
    distance = np.bitwise_count(queries[:, None, :] ^ words[None, :, :]).sum(
        axis=2, dtype=np.int64)
    query, row = np.nonzero((distance <= radius) & (dead[None, :] == 0))
    return RowHits(query.astype(np.int64), row.astype(np.int64), distance[query, row])


def _scanner(words: np.ndarray, dead: np.ndarray, radius: int):  # type: ignore[no-untyped-def]
    from veil.index import kernels

    def scan(qs, cap, out_rows, out_dist, counts):  # type: ignore[no-untyped-def]
        fn = kernels.brute_search if len(qs) >= PARALLEL_MIN else kernels.brute_search_serial
        fn(words, dead, qs, radius, cap, out_rows, out_dist, counts)
    return scan


def _scan_decoded(cycle: CycleTables, dead: np.ndarray, queries: np.ndarray,
                  radius: int) -> RowHits:
    """Scan a cycle block (radii too large to probe): decode rows a slice at a time."""
    parts = []
    for start in range(0, cycle.n, DECODE_ROWS):
        rows = np.arange(start, min(start + DECODE_ROWS, cycle.n), dtype=np.int64)
        hits = _collect(_scanner(cycle.decode(rows), np.ascontiguousarray(dead[rows]), radius),
                        queries)
        parts.append(RowHits(hits.query, hits.row + start, hits.distance))
    query = np.concatenate([p.query for p in parts])
    order = np.argsort(query, kind="stable")
    return RowHits(query[order], np.concatenate([p.row for p in parts])[order],
                   np.concatenate([p.distance for p in parts])[order])


def _collect(run, queries: np.ndarray) -> RowHits:  # type: ignore[no-untyped-def]
    """Run a kernel with a small per-query buffer, then rerun alone, with an exact
    buffer, the queries that found more (a cluster of near-identical hashes)."""
    q = len(queries)
    cap = FIRST_PASS_CAP
    out_rows = np.empty((q, cap), np.uint32)
    out_dist = np.empty((q, cap), np.uint16)
    counts = np.empty(q, np.int64)
    run(queries, cap, out_rows, out_dist, counts)
    hits = _flatten(counts, out_rows, out_dist, cap)
    over = np.flatnonzero(counts > cap)
    if not len(over):
        return hits
    parts = [hits]
    for i in over:
        c = int(counts[i])
        r_rows = np.empty((1, c), np.uint32)
        r_dist = np.empty((1, c), np.uint16)
        r_counts = np.empty(1, np.int64)
        run(queries[i:i + 1], c, r_rows, r_dist, r_counts)
        one = _flatten(r_counts, r_rows, r_dist, c)
        parts.append(RowHits(np.full(c, i, np.int64), one.row, one.distance))
    keep = ~np.isin(hits.query, over)
    parts[0] = RowHits(hits.query[keep], hits.row[keep], hits.distance[keep])
    query = np.concatenate([p.query for p in parts])
    order = np.argsort(query, kind="stable")
    return RowHits(query[order], np.concatenate([p.row for p in parts])[order],
                   np.concatenate([p.distance for p in parts])[order])
