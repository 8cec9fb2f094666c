"""Geometry shared by the multi-index search, the cycle tables and their kernels.

A hash of ``32·m`` bits is cut into ``m`` chunks of ``CHUNK_BITS`` (32) bits; a
block of ``n`` rows numbers them in ``row_bits_for(n)`` bits and keys each table's
directory on a chunk's top ``top_bits_for(n)`` bits. No numba here: importing the
index does not compile or load a kernel until one is needed (``kernels`` is
imported where a kernel is called).
"""

from __future__ import annotations

import numpy as np

#: Chunks of the multi-index are this wide; 256-bit hashes give 8 tables.
CHUNK_BITS = 32
#: Bytes per cycle-table record (see ``cycle``), and one rank sample per this power
#: of two of positions.
RECORD_BYTES = 5
INV_SHIFT = 5


def row_bits_for(n: int) -> int:
    return max(1, (max(n, 1) - 1).bit_length())


def top_bits_for(n: int) -> int:
    """Directory width: the most bits (up to 24) whose directories take at most 6.4
    bytes a hash over 8 tables, so records and directories stay within 1.5× the raw
    hash (5 to 10 hashes a bucket). A query probes a few thousand buckets per table
    and filters every record in them; fewer records a bucket is faster: 100M rows
    searched 1.5× faster at 24 bits (6 a bucket) than at 23 (12), the width of the
    rule before (BENCHMARKS.md). 24 bits leaves few enough chunk bits that a record
    fits 40 bits up to 2**32 rows."""
    return min(24, max(1, (max(n, 1) // 5).bit_length() - 1))


def chunk_values(words: np.ndarray, t: int) -> np.ndarray:
    w = words[:, t >> 1]
    return (w & np.uint64(0xFFFFFFFF) if t & 1 else w >> np.uint64(32)).astype(np.uint32)


def sort_order(words: np.ndarray) -> np.ndarray:
    """Row order that makes ``words`` sorted by chunk 0 (what ``build_cycle`` needs)."""
    return np.argsort(chunk_values(words, 0), kind="stable")
