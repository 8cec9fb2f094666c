"""Compiled (numba) search loops over packed hashes.

The libraries were measured first: at 10M PDQ hashes and radius 31 FAISS's exact
indexes serve ~60 queries/s (bench/matching.py), and a vectorised numpy prototype of
the multi-index (11 chunks of 23 bits, searchsorted-style directories) reached ~700/s
at ~110 bytes per hash, short of the target on both counts. The loops below walk the
tables of ``cycle`` with no temporaries, so one query costs a few thousand
cache-line reads and the tables can be packed tight.

Hashes are rows of big-endian 64-bit words (bit 0 of the hex string is the top bit
of word 0). Every kernel returns, per query, up to ``cap`` (row, distance) pairs
and the true count; callers rerun queries whose count exceeds ``cap`` with a buffer
of the exact size, so output memory is bounded by the batch, not by the bank.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from veil.index.chunks import CHUNK_BITS, INV_SHIFT, RECORD_BYTES

#: Buckets ahead whose first cache line is requested while the current one is read.
PREFETCH_AHEAD = 16


@intrinsic
def _popcount64(typingctx, x):  # type: ignore[no-untyped-def]
    # numba has no popcount; LLVM's ctpop compiles to the POPCNT instruction. Typed
    # as int64 (same LLVM i64) so comparisons with signed radii stay integer.
    sig = types.int64(types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        fn = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(fn, args)

    return sig, codegen


@intrinsic
def _prefetch(typingctx, arr, i, j):  # type: ignore[no-untyped-def]
    # bucket starts are random reads; issuing them ahead overlaps their cache misses
    sig = types.void(arr, i, j)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        aryty, ity, jty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        idx = [context.cast(builder, args[1], ity, types.intp),
               context.cast(builder, args[2], jty, types.intp)]
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, idx)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read, keep in all cache levels, data cache
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3),
                          ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always", cache=True)
def _distance(words: np.ndarray, row: int, q: np.ndarray) -> int:
    d = 0
    for w in range(q.shape[0]):
        d += _popcount64(words[row, w] ^ q[w])
    return d


def _brute_search(words: np.ndarray, dead: np.ndarray, queries: np.ndarray, radius: int,
                  cap: int, out_rows: np.ndarray, out_dist: np.ndarray,
                  counts: np.ndarray) -> None:
    """Every live row within ``radius`` of each query, by scanning all rows."""
    n = words.shape[0]
    for qi in prange(queries.shape[0]):
        q = queries[qi]
        c = 0
        for row in range(n):
            d = _distance(words, row, q)
            if d <= radius and not dead[row]:
                if c < cap:
                    out_rows[qi, c] = row
                    out_dist[qi, c] = d
                c += 1
        counts[qi] = c


@njit(inline="always", cache=True)
def _field(records: np.ndarray, t: int, p: int) -> np.uint64:
    """Record ``p`` of table ``t``: 40 bits, little-endian (see ``cycle``)."""
    b = p * RECORD_BYTES
    return (np.uint64(records[t, b]) | (np.uint64(records[t, b + 1]) << np.uint64(8))
            | (np.uint64(records[t, b + 2]) << np.uint64(16))
            | (np.uint64(records[t, b + 3]) << np.uint64(24))
            | (np.uint64(records[t, b + 4]) << np.uint64(32)))


@njit(inline="always", cache=True)
def _rank(dirs: np.ndarray, inv: np.ndarray, t: int, p: int) -> np.int64:
    """The directory bucket of table ``t`` that holds position ``p``: from the sample
    at or below ``p``, a few steps along the (cached) directory."""
    k = np.int64(inv[t, p >> INV_SHIFT])
    while dirs[t, k + 1] <= p:
        k += 1
    return k


@njit(inline="always", cache=True)
def _chunk_at(dirs: np.ndarray, inv: np.ndarray, t: int, p: int, field: np.uint64,
              rest_bits: np.uint64, shift: np.uint64) -> np.uint64:
    """The whole chunk of record ``p`` of table ``t`` (``field`` read from it): the
    top bits from the bucket it sits in, the rest from the record."""
    return (np.uint64(_rank(dirs, inv, t, p)) << rest_bits) | (field >> shift)


def _cycle_search(dirs: np.ndarray, records: np.ndarray, inv: np.ndarray, dead: np.ndarray,
                  top_bits: int, row_bits: int, radii: np.ndarray, masks: np.ndarray,
                  mask_pop: np.ndarray, masks_upto: np.ndarray, queries: np.ndarray,
                  radius: int, cap: int, out_rows: np.ndarray, out_dist: np.ndarray,
                  counts: np.ndarray) -> None:
    """Every live row within ``radius`` of each query, through the cycle tables.

    Table ``t`` is probed at radius ``radii[t]`` (-1: not probed); the caller picks
    radii with ``sum(radii + 1) > radius`` so that, by pigeonhole, every row within
    ``radius`` has some chunk ``t`` within ``radii[t]`` of the query's. A record
    whose chunk is within is a candidate; walking its cycle adds the other chunks'
    distances, stopping once past ``radius``. A row is reported through the *last*
    table that finds it, so each row once: the walk from table ``t`` meets the
    later tables first and stops at once if one of them would find it too, which
    keeps a cluster of near-identical hashes (found through every table) to one
    full walk per row.
    """
    m = radii.shape[0]
    rest_bits = np.uint64(CHUNK_BITS - top_bits)
    rest_mask = np.uint64((1 << (CHUNK_BITS - top_bits)) - 1)
    shift = np.uint64(row_bits)
    row_mask = np.uint64((1 << row_bits) - 1)
    for qi in prange(queries.shape[0]):
        q = queries[qi]
        qc = np.empty(m, np.uint64)
        for t in range(m):
            w = q[t >> 1]
            qc[t] = (w & np.uint64(0xFFFFFFFF)) if t & 1 else (w >> np.uint64(32))
        nmax = masks_upto[max(radii.max(), 0)]
        los = np.empty(nmax, np.int64)
        his = np.empty(nmax, np.int64)
        c = 0
        for t in range(m):
            s = radii[t]
            if s < 0:
                continue
            qtop = qc[t] >> rest_bits
            qrest = qc[t] & rest_mask
            nm = masks_upto[s]
            # directory reads first, all independent, so the core overlaps their misses
            for mi in range(nm):
                key = qtop ^ np.uint64(masks[mi])
                los[mi] = dirs[t, key]
                his[mi] = dirs[t, key + np.uint64(1)]
            for mi in range(nm):
                if mi + PREFETCH_AHEAD < nm:
                    _prefetch(records, t, los[mi + PREFETCH_AHEAD] * RECORD_BYTES)
                budget = s - mask_pop[mi]
                for p in range(los[mi], his[mi]):
                    f = _field(records, t, p)
                    dr = _popcount64((f >> shift) ^ qrest)
                    if dr > budget:
                        continue
                    dist = mask_pop[mi] + dr
                    row0 = p
                    ptr = f & row_mask
                    ok = True
                    for step in range(1, m):
                        u = t + step
                        if u >= m:
                            u -= m
                        pos = np.int64(ptr)
                        g = _field(records, u, pos)
                        chunk = _chunk_at(dirs, inv, u, pos, g, rest_bits, shift)
                        du = _popcount64(chunk ^ qc[u])
                        if u > t and du <= radii[u]:
                            ok = False  # table u finds it too, and reports it
                            break
                        dist += du
                        if dist > radius:
                            ok = False
                            break
                        if u == 0:
                            row0 = pos
                        ptr = g & row_mask
                    if not ok or dead[row0]:
                        continue
                    if c < cap:
                        out_rows[qi, c] = row0
                        out_dist[qi, c] = dist
                    c += 1
        counts[qi] = c


def _cycle_decode(dirs: np.ndarray, records: np.ndarray, inv: np.ndarray, top_bits: int,
                 row_bits: int, rows: np.ndarray, out: np.ndarray) -> None:
    """The packed hashes at table-0 positions ``rows``: one walk round each cycle."""
    m = dirs.shape[0]
    rest_bits = np.uint64(CHUNK_BITS - top_bits)
    shift = np.uint64(row_bits)
    row_mask = np.uint64((1 << row_bits) - 1)
    for i in prange(rows.shape[0]):
        pos = rows[i]
        for t in range(m):
            f = _field(records, t, pos)
            chunk = _chunk_at(dirs, inv, t, pos, f, rest_bits, shift)
            if t & 1:
                out[i, t >> 1] |= chunk
            else:
                out[i, t >> 1] = chunk << np.uint64(32)
            pos = np.int64(f & row_mask)


@njit(nogil=True, cache=True)
def cycle_erase(records: np.ndarray, row_bits: int, rows: np.ndarray) -> None:
    """Zero the chunk bits of the records of the entries at table-0 ``rows``; the
    position bits, and so every cycle, stay as they were (searches may be walking)."""
    m = records.shape[0]
    row_mask = np.uint64((1 << row_bits) - 1)
    for i in range(rows.shape[0]):
        pos = rows[i]
        for t in range(m):
            nxt = _field(records, t, pos) & row_mask
            b = pos * RECORD_BYTES
            for k in range(RECORD_BYTES):
                records[t, b + k] = np.uint8((nxt >> np.uint64(8 * k)) & np.uint64(0xFF))
            pos = np.int64(nxt)


#: Walks ``cycle_check`` advances in lockstep: their reads are independent, so this
#: many cache misses are in flight at once instead of one (5× faster at 20M rows).
CHECK_LANES = 32


@njit(parallel=True, nogil=True, cache=True)
def cycle_check(records: np.ndarray, n: int, row_bits: int, stride: int) -> tuple[int, int]:
    """(pointers out of range, walks not closing). Every record's pointer is checked,
    a sequential pass (what keeps the kernels' reads in bounds); then the walk round
    all tables from every ``stride``-th position of table 0 must come back to it
    (what makes decoded hashes whole). No temporaries: a snapshot of 100M rows is
    checked without the gigabytes a vectorised walk holds."""
    m = records.shape[0]
    row_mask = np.uint64((1 << row_bits) - 1)
    out_of_range = 0
    for t in prange(m):
        bad = 0
        for p in range(n):
            if np.int64(_field(records, t, p) & row_mask) >= n:
                bad += 1
        out_of_range += bad
    if out_of_range:
        return out_of_range, 0
    starts = (n + stride - 1) // stride
    not_closed = 0
    for g in prange((starts + CHECK_LANES - 1) // CHECK_LANES):
        first = g * CHECK_LANES
        lanes = min(CHECK_LANES, starts - first)
        pos = np.empty(CHECK_LANES, np.int64)
        for j in range(lanes):
            pos[j] = (first + j) * stride
        for t in range(m):
            for j in range(lanes):
                pos[j] = np.int64(_field(records, t, pos[j]) & row_mask)
        bad = 0
        for j in range(lanes):
            if pos[j] != (first + j) * stride:
                bad += 1
        not_closed += bad
    return out_of_range, not_closed


def _twin(fn: object, suffix: str) -> object:
    """A copy of ``fn`` under another name: numba's on-disk cache is keyed by the
    function's name, so the parallel and serial builds of one body need two names
    or each would load the other's machine code."""
    import types as pytypes

    assert isinstance(fn, pytypes.FunctionType)
    twin = pytypes.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix,
                                fn.__defaults__, fn.__closure__)
    twin.__qualname__ = fn.__qualname__ + suffix
    return twin


#: What callers see of a compiled kernel: it fills its output arrays, returns nothing.
Kernel = Callable[..., None]

# Parallel over queries for batches; the serial twins serve small batches, where
# waking a thread pool on a busy machine costs more than the work.
brute_search: Kernel = njit(parallel=True, nogil=True, cache=True)(
    _twin(_brute_search, "_parallel"))
brute_search_serial: Kernel = njit(nogil=True, cache=True)(_twin(_brute_search, "_serial"))
cycle_search: Kernel = njit(parallel=True, nogil=True, cache=True)(
    _twin(_cycle_search, "_parallel"))
cycle_search_serial: Kernel = njit(nogil=True, cache=True)(_twin(_cycle_search, "_serial"))
# decoding the few matches of a query must not wake the thread pool (~0.1 ms)
cycle_decode: Kernel = njit(parallel=True, nogil=True, cache=True)(
    _twin(_cycle_decode, "_parallel"))
cycle_decode_serial: Kernel = njit(nogil=True, cache=True)(_twin(_cycle_decode, "_serial"))
