"""Cycle tables: multi-index hashing that stores each hash once, spread over its tables.

A hash of ``32·m`` bits is cut into ``m`` chunks of 32 bits, and there is one table
per chunk: the block's entries sorted by that chunk, with a directory over the
chunk's top ``top_bits`` bits. Table ``t``'s record for an entry holds

* the rest of its chunk (the ``32 - top_bits`` bits below the directory bits; the
  top bits are where the record sits, so they cost nothing), and
* the entry's position in table ``t + 1`` (mod ``m``),

so the records of one entry form a cycle through all ``m`` tables and, walked once
round, give back the whole hash. There is no separate copy of the hashes: where a
layout with one hash array plus row pointers needs ``32 + 4·(m - 1)`` bytes and more
per hash (1.98× the raw hash at 10M), this needs ``m`` records of 5 bytes plus
the directories, at most 1.5×. Table 0's order is the block's row order (ids, labels
and tombstones are indexed by it).

Searching is the pigeonhole probe of ``multi_index``: table ``t`` is probed at
radius ``s_t`` (every directory key within ``s_t`` bits of the query's), and a
record whose whole chunk is within ``s_t`` is a candidate. The candidate is then
verified by walking its cycle, adding each chunk's distance and giving up as soon
as the sum passes the radius, which for a random candidate is after two or three
steps. A chunk's top bits come from the position: ``rank`` finds the directory
bucket holding a position from a sample taken every ``2**INV_SHIFT`` positions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from veil.index.chunks import (
    CHUNK_BITS,
    INV_SHIFT,
    RECORD_BYTES,
    chunk_values,
    row_bits_for,
    top_bits_for,
)

#: Rows decoded on all cores from this many; fewer (a query's matches) on the caller's.
DECODE_PARALLEL_MIN = 4096


@dataclass(eq=False)
class CycleTables:
    dirs: np.ndarray  # (m, 2**top_bits + 1) uint32 bucket offsets
    records: np.ndarray  # (m, n * RECORD_BYTES) uint8, little-endian 40-bit records
    inv: np.ndarray  # (m, (n >> INV_SHIFT) + 1) uint32: bucket of position i << INV_SHIFT
    n: int
    top_bits: int
    row_bits: int

    @property
    def tables(self) -> int:
        return int(self.dirs.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.dirs.nbytes + self.records.nbytes + self.inv.nbytes)

    def decode(self, rows: np.ndarray) -> np.ndarray:
        """The hashes at table-0 positions ``rows``, as packed rows of 64-bit words."""
        rows = np.ascontiguousarray(rows, np.int64)
        out = np.empty((len(rows), self.tables // 2), np.uint64)
        if len(rows):
            from veil.index import kernels

            fn = (kernels.cycle_decode if len(rows) >= DECODE_PARALLEL_MIN
                  else kernels.cycle_decode_serial)
            fn(self.dirs, self.records, self.inv, self.top_bits, self.row_bits, rows, out)
        return out

    def erase(self, rows: np.ndarray) -> None:
        """Zero the stored chunk bits of the entries at table-0 ``rows`` (withdrawn:
        tombstoned already; their cycles stay walkable)."""
        rows = np.ascontiguousarray(rows, np.int64)
        if len(rows):
            from veil.index import kernels

            kernels.cycle_erase(self.records, self.row_bits, rows)


def rank_samples(dirs: np.ndarray, n: int) -> np.ndarray:
    """For each table, the bucket holding every ``2**INV_SHIFT``-th position."""
    at = np.arange(0, (n >> INV_SHIFT) + 1, dtype=np.int64) << INV_SHIFT
    inv = np.empty((dirs.shape[0], len(at)), np.uint32)
    last = dirs.shape[1] - 2
    for t in range(dirs.shape[0]):
        inv[t] = np.minimum(np.searchsorted(dirs[t], at, side="right") - 1, last)
    return inv


def build_cycle(words: np.ndarray, *,
                on_table: Callable[[int], None] | None = None) -> CycleTables:
    """Tables over ``words``, which must already be sorted by chunk 0 (``sort_order``):
    table 0's order is the row order. ``on_table(t)``: called as table ``t`` is done."""
    n = words.shape[0]
    m = words.shape[1] * 64 // CHUNK_BITS
    if n >= 1 << 31:
        raise ValueError("a block holds fewer than 2**31 rows; split the bank")
    top = top_bits_for(n)
    row_bits = row_bits_for(n)
    rest_bits = CHUNK_BITS - top
    dirs = np.empty((m, (1 << top) + 1), np.uint32)
    records = np.empty((m, n * RECORD_BYTES), np.uint8)

    def table_order(t: int) -> np.ndarray:
        # int32 halves the build's temporaries (a block has < 2**31 rows)
        return (np.arange(n, dtype=np.int32) if t == 0
                else np.argsort(chunk_values(words, t), kind="stable").astype(np.int32))

    # Table t's records point into table t + 1, so only two tables' orders are held
    # at a time (at 100M rows, 0.8 GB where all eight orders and positions took 6.4).
    order = table_order(0)
    for t in range(m):
        c = chunk_values(words, t)
        counts = np.bincount(c >> np.uint32(rest_bits), minlength=1 << top)
        dirs[t, 0] = 0
        np.cumsum(counts, out=dirs[t, 1:])
        del counts
        following = table_order((t + 1) % m)
        nxt_pos = np.empty(n, np.int32)
        nxt_pos[following] = np.arange(n, dtype=np.int32)
        rest = c[order].astype(np.uint64) & np.uint64((1 << rest_bits) - 1)
        del c
        field = (rest << np.uint64(row_bits)) | nxt_pos[order].astype(np.uint64)
        del rest, nxt_pos
        # the low RECORD_BYTES of each little-endian 64-bit field are its record
        records[t].reshape(n, RECORD_BYTES)[:] = (
            field.astype("<u8", copy=False).view(np.uint8).reshape(n, 8)[:, :RECORD_BYTES])
        del field
        order = following
        if on_table is not None:
            on_table(t)
    return CycleTables(dirs, records, rank_samples(dirs, n), n, top, row_bits)


#: Most cycles ``check_cycle`` walks: above this many rows it walks from every
#: ``n // CHECK_WALKS``-th position (a walk is a cache miss per table; at 100M rows
#: walking all took most of a snapshot's load).
CHECK_WALKS = 1 << 21


def check_cycle(dirs: np.ndarray, records: np.ndarray, n: int, row_bits: int) -> str | None:
    """Why these arrays cannot be walked safely (None if they can): directories
    monotone and ending at ``n``, every pointer in range (so no kernel reads out of
    bounds, whatever the file), and the walk round all tables coming back where it
    started (the tables' pointers compose to the identity) from every position up to
    ``CHECK_WALKS`` rows, from a regular sample of them above. Corruption is the
    checksum's to find; the walks catch a writer's mistake, which would break many
    cycles, not one."""
    if (dirs[:, 0] != 0).any() or (dirs[:, -1] != n).any() or (dirs[:, 1:] < dirs[:, :-1]).any():
        return "directories are not consistent with the rows"
    if records.shape != (dirs.shape[0], n * RECORD_BYTES):
        return "records are not consistent with the rows"
    if not n:
        return None
    from veil.index import kernels

    stride = max(1, n // CHECK_WALKS)
    out_of_range, not_closed = kernels.cycle_check(records, n, row_bits, stride)
    if out_of_range:
        return "row numbers out of range"
    if not_closed:
        return "record cycles do not close"
    return None
