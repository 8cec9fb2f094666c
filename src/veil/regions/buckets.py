"""Hash tables over substrings of ORB descriptors, and the compiled loops that build
and probe them.

Table ``t`` keys a descriptor by its bits ``[t·BITS, (t+1)·BITS)``. The first
substrings are the least crowded on the corpus (an entry shares its bucket with
0.09–0.53 others per 124k entries, where later substrings reach 1.7), so the first
``TABLES`` are used.
Two descriptors of the same corner seen again differ in a few to 40 of 256 bits, so
they share a whole substring with a useful chance; two unrelated descriptors almost
never do. A bucket holds the slots (banked photos) of the descriptors with that key,
in one contiguous array per table (counting sort: offsets, then slots), so a probe is
one directory read and one sequential run. Tables with fewer entries than keys (a
bank under 65,536 photos) key their directory by the top bits only and keep each
entry's whole key beside it, so a small bank costs what its entries do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from veil.regions.features import DESCRIPTOR_BYTES

#: Bits of a descriptor per key. 24 gives 16.8M buckets a table: at 1M photos × 256
#: keypoints a bucket holds ~15 entries on average, so an unrelated photo shares a
#: key with a 1,000-keypoint upload by chance about once in 65 uploads a table,
#: while a re-shared corner with 10–20 bits changed keeps its key 38–14 % of the
#: time (docs/derived.md, "Searching a bank").
BITS = 24
#: Tables, on disjoint substrings. Each costs 4 bytes a banked keypoint.
TABLES = 4


def keys_of(descriptors: np.ndarray, tables: int = TABLES, bits: int = BITS,
            first: int = 0) -> np.ndarray:
    """(tables, n) uint32: each descriptor's key in tables ``first..first+tables-1``."""
    d = np.ascontiguousarray(descriptors, dtype=np.uint8).reshape(-1, DESCRIPTOR_BYTES)
    if (first + tables) * bits > 8 * DESCRIPTOR_BYTES or not 1 <= bits <= 32:
        raise ValueError("tables × bits exceed a descriptor")
    out = np.empty((tables, d.shape[0]), np.uint32)
    _keys(d, bits, first, out)
    return out


@njit(nogil=True, cache=True)
def _keys(d: np.ndarray, bits: int, first_table: int, out: np.ndarray) -> None:
    mask = (np.uint64(1) << np.uint64(bits)) - np.uint64(1)
    for t in range(out.shape[0]):
        start = (first_table + t) * bits
        first = start >> 3
        # the key's bits lie within the 5 bytes from ``first`` (≤ 32 + 7 bits)
        drop = np.uint64(40 - (start & 7) - bits)
        for i in range(d.shape[0]):
            word = np.uint64(0)
            for j in range(5):
                word <<= np.uint64(8)
                if first + j < d.shape[1]:
                    word |= np.uint64(d[i, first + j])
            out[t, i] = np.uint32((word >> drop) & mask)


@dataclass(frozen=True, slots=True)
class Tables:
    """The tables of one segment: ``offsets[t, b]:offsets[t, b+1]`` are the entries of
    directory bucket ``b`` of table ``t``; ``slots`` the photos they belong to;
    ``keys`` each entry's whole key when the directory uses only the top
    ``BITS - shift`` bits (empty when ``shift`` is 0)."""

    offsets: np.ndarray  # (T, 2**(bits-shift) + 1) uint32 (int64 past 2**32 entries)
    slots: np.ndarray  # (T, n) uint32
    keys: np.ndarray  # (T, n) uint32, or (T, 0)
    shift: int

    @property
    def entries(self) -> int:
        return int(self.slots.shape[1])

    @property
    def nbytes(self) -> int:
        return int(self.offsets.nbytes + self.slots.nbytes + self.keys.nbytes)


def empty(tables: int, n: int, *, bits: int = BITS) -> Tables:
    """Room for ``n`` entries a table, filled table by table with ``fill``. The
    directory has about one bucket per entry, up to one per key: a small bank's
    tables cost what its entries do, not 2**bits offsets."""
    dir_bits = min(bits, max(4, int(n).bit_length()))
    shift = bits - dir_bits
    offset_type = np.uint32 if n < (1 << 32) else np.int64
    return Tables(np.zeros((tables, (1 << dir_bits) + 1), offset_type),
                  np.empty((tables, n), np.uint32),
                  np.empty((tables, n if shift else 0), np.uint32), shift)


def fill(tables: Tables, t: int, keys: np.ndarray, slots: np.ndarray) -> None:
    """Table ``t`` from its entries' keys ``(n,)`` and slots ``(n,)``."""
    _counting_sort(keys, np.ascontiguousarray(slots, np.uint32), tables.shift,
                   tables.offsets[t], tables.slots[t], tables.keys[t])


@njit(nogil=True, cache=True)
def _counting_sort(keys: np.ndarray, slots: np.ndarray, shift: int, offsets: np.ndarray,
                   out_slots: np.ndarray, out_keys: np.ndarray) -> None:
    keep_keys = out_keys.shape[0] > 0
    offsets[:] = 0
    for i in range(keys.shape[0]):
        offsets[(keys[i] >> shift) + 1] += 1
    for b in range(1, offsets.shape[0]):
        offsets[b] += offsets[b - 1]
    at = offsets[:-1].copy()
    for i in range(keys.shape[0]):
        b = keys[i] >> shift
        p = at[b]
        out_slots[p] = slots[i]
        if keep_keys:
            out_keys[p] = keys[i]
        at[b] = p + 1


@njit(nogil=True, cache=True)
def vote(tables_offsets: np.ndarray, tables_slots: np.ndarray, tables_keys: np.ndarray,
         shift: int, query_keys: np.ndarray, max_bucket: int, counts: np.ndarray,
         touched: np.ndarray, n_touched: int) -> int:
    """Add one vote to ``counts[slot]`` per (query keypoint, banked entry) sharing a
    key in any table, skipping buckets of more than ``max_bucket`` entries (a key
    that common says nothing: flat sky, repeated texture). Slots voted for the
    first time are appended to ``touched``; returns its new length."""
    check = tables_keys.shape[1] > 0
    for t in range(query_keys.shape[0]):
        for i in range(query_keys.shape[1]):
            k = query_keys[t, i]
            b = k >> shift
            lo = tables_offsets[t, b]
            hi = tables_offsets[t, b + 1]
            if hi - lo > max_bucket and not check:
                continue
            if check:
                found = 0
                for p in range(lo, hi):
                    if tables_keys[t, p] == k:
                        found += 1
                if found > max_bucket:
                    continue
            last = -1
            for p in range(lo, hi):
                if check and tables_keys[t, p] != k:
                    continue
                s = tables_slots[t, p]
                # entries are in slot order: a photo's repeated texture (many of its
                # keypoints under one key) is one vote, not many
                if s == last:
                    continue
                last = s
                if counts[s] == 0:
                    touched[n_touched] = s
                    n_touched += 1
                if counts[s] < 65535:
                    counts[s] += 1
    return n_touched
