"""Multi-index hashing over packed hashes: chunk tables, probe plans, exact search.

A hash of ``32·m`` bits or more is cut into ``m`` chunks of 32 bits. If two hashes
differ in at most ``r`` bits and chunk ``t`` is probed at radius ``s_t`` with
``Σ (s_t + 1) > r``, some chunk differs in at most ``s_t`` bits (pigeonhole), so
probing every chunk value within ``s_t`` of the query's finds every such hash and
the search is exact. For PDQ at r = 31 that is 8 tables at radius 3.

A table is a directory over the chunk's top ``top_bits`` bits (offsets into a
sorted array) plus, per hash, its row number packed in a ``uint32`` with the next
``low_bits`` chunk bits, which reject most bucket members without reading their
row. Rows are kept sorted by chunk 0, so table 0 needs no row numbers. At 10M
hashes that is ~31 bytes of tables per hash on top of the 32 of the hash itself;
the designs measured against it are in BENCHMARKS.md.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from math import comb

import numpy as np

from veil.index import kernels

CHUNK_BITS = kernels.CHUNK_BITS

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
#: row compared in a scan. With them the model tracks measured times within ~30%
#: and switches where they cross (~30k rows at radius 31).
_COST_PROBE, _COST_MEMBER, _COST_SCAN = 12.0, 1.0, 1.5


def row_bits_for(n: int) -> int:
    return max(1, (max(n, 1) - 1).bit_length())


def top_bits_for(n: int) -> int:
    """Directory width: ~8 hashes per bucket keeps directories at ~3 bytes a hash
    over 8 tables while a bucket is still one or two cache lines of packed rows."""
    return min(24, max(1, (max(n, 1) // 8).bit_length() - 1))


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


def scan_cost(n: int) -> float:
    return _COST_SCAN * n


@dataclass(eq=False)
class ChunkTables:
    """The tables of one immutable block of rows (already sorted by chunk 0)."""

    dirs: np.ndarray  # (tables, 2**top_bits + 1) uint32 offsets
    packed: np.ndarray  # (tables - 1, n) uint32: low chunk bits << row_bits | row
    top_bits: int
    row_bits: int
    low_bits: int

    @property
    def tables(self) -> int:
        return int(self.dirs.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.dirs.nbytes + self.packed.nbytes)

    def filters(self) -> np.ndarray:
        """Chunk bits each table compares (table 0 reads the whole chunk from the row)."""
        f = np.empty(self.tables, np.uint64)
        f[0] = 0xFFFFFFFF
        used = self.top_bits + self.low_bits
        f[1:] = ((1 << used) - 1) << (CHUNK_BITS - used)
        return f


def chunk_values(words: np.ndarray, t: int) -> np.ndarray:
    w = words[:, t >> 1]
    return (w & np.uint64(0xFFFFFFFF) if t & 1 else w >> np.uint64(32)).astype(np.uint32)


def sort_order(words: np.ndarray) -> np.ndarray:
    """Row order that makes ``words`` sorted by chunk 0 (what ``build_tables`` needs)."""
    return np.argsort(chunk_values(words, 0), kind="stable")


def build_tables(words: np.ndarray, tables: int) -> ChunkTables:
    """Tables over ``words``, which must already be in ``sort_order``."""
    n = words.shape[0]
    if n >= 1 << 31:
        raise ValueError("a block holds fewer than 2**31 rows; split the bank")
    if tables * CHUNK_BITS > words.shape[1] * 64:
        raise ValueError(f"{tables} tables need {tables * CHUNK_BITS} bits per hash")
    top = top_bits_for(n)
    row_bits = row_bits_for(n)
    low = min(CHUNK_BITS - row_bits, CHUNK_BITS - top)
    dirs = np.empty((tables, (1 << top) + 1), np.uint32)
    packed = np.empty((max(tables - 1, 0), n), np.uint32)
    top_shift = np.uint32(CHUNK_BITS - top)
    for t in range(tables):
        c = chunk_values(words, t)
        if t:
            order = np.argsort(c, kind="stable").astype(np.uint32)
            c = c[order]
            low_vals = (c >> np.uint32(CHUNK_BITS - top - low)) & np.uint32((1 << low) - 1)
            np.bitwise_or(low_vals << np.uint32(row_bits), order, out=packed[t - 1])
            del order, low_vals
        counts = np.bincount(c >> top_shift, minlength=1 << top)
        dirs[t, 0] = 0
        np.cumsum(counts, out=dirs[t, 1:])
    return ChunkTables(dirs, packed, top, row_bits, low)


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


def search_rows(words: np.ndarray, dead: np.ndarray, tables: ChunkTables | None,
                queries: np.ndarray, radius: int) -> RowHits:
    """Every live row within ``radius`` of each query (exact), probing or scanning,
    whichever the cost model says is cheaper for this block and radius."""
    n = words.shape[0]
    q = len(queries)
    if n == 0 or q == 0:
        empty = np.empty(0, np.int64)
        return RowHits(empty, empty, empty)
    run = _plan(words, dead, tables, radius)

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


def _plan(words: np.ndarray, dead: np.ndarray, tables: ChunkTables | None, radius: int):  # type: ignore[no-untyped-def]
    n = words.shape[0]
    if tables is not None:
        radii = probe_radii(radius, tables.tables)
        s_max = int(radii.max())
        if s_max <= MAX_CHUNK_RADIUS and probe_cost(n, tables.top_bits, radii) < scan_cost(n):
            masks, pops, upto = flip_masks(tables.top_bits, s_max)
            filters = tables.filters()

            def probe(qs, cap, out_rows, out_dist, counts):  # type: ignore[no-untyped-def]
                fn = kernels.mih_search if len(qs) >= PARALLEL_MIN else kernels.mih_search_serial
                fn(words, dead, tables.dirs, tables.packed, tables.top_bits,
                                   tables.row_bits, tables.low_bits, radii, filters, masks,
                                   pops, upto, qs, radius, cap, out_rows, out_dist, counts)
            return probe

    def scan(qs, cap, out_rows, out_dist, counts):  # type: ignore[no-untyped-def]
        fn = kernels.brute_search if len(qs) >= PARALLEL_MIN else kernels.brute_search_serial
        fn(words, dead, qs, radius, cap, out_rows, out_dist, counts)
    return scan
