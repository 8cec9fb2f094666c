"""Compiled (numba) search loops over packed hashes.

The libraries were measured first: at 10M PDQ hashes and radius 31 FAISS's exact
indexes serve ~60 queries/s (bench/matching.py), and a vectorised numpy prototype of
the multi-index (11 chunks of 23 bits, searchsorted-style directories) reached ~700/s
at ~110 bytes per hash, short of the target on both counts. The loops below walk the
tables of ``multi_index`` with no temporaries, so one query costs a few thousand
cache-line reads and the tables can be packed tight.

Hashes are rows of big-endian 64-bit words (bit 0 of the hex string is the top bit
of word 0). Every kernel returns, per query, up to ``cap`` (row, distance) pairs
and the true count; callers rerun queries whose count exceeds ``cap`` with a buffer
of the exact size, so output memory is bounded by the batch, not by the bank.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

#: Chunks of the multi-index are this wide; 256-bit hashes give 8 tables.
CHUNK_BITS = 32
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
def _chunk(words: np.ndarray, row: int, t: int) -> np.uint64:
    w = words[row, t >> 1]
    if t & 1:
        return w & np.uint64(0xFFFFFFFF)
    return w >> np.uint64(32)


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
def _fresh(words: np.ndarray, row: int, qc: np.ndarray, t: int, radii: np.ndarray,
           filters: np.ndarray) -> bool:
    """False when a table before ``t`` reports ``row`` too (so each row once)."""
    for t2 in range(t):
        if radii[t2] >= 0 and _popcount64(
                (_chunk(words, row, t2) ^ qc[t2]) & filters[t2]) <= radii[t2]:
            return False
    return True


def _mih_search(words: np.ndarray, dead: np.ndarray, dirs: np.ndarray, packed: np.ndarray,
               top_bits: int, row_bits: int, low_bits: int, radii: np.ndarray,
               filters: np.ndarray, masks: np.ndarray, mask_pop: np.ndarray,
               masks_upto: np.ndarray, queries: np.ndarray, radius: int, cap: int,
               out_rows: np.ndarray, out_dist: np.ndarray, counts: np.ndarray) -> None:
    """Every live row within ``radius`` of each query, through the chunk tables.

    Table ``t`` is probed at radius ``radii[t]`` (-1: not probed); the caller picks
    radii with ``sum(radii + 1) > radius`` so that, by pigeonhole, every row within
    ``radius`` agrees with the query within ``radii[t]`` bits on some chunk ``t``.
    Rows are sorted by chunk 0, so table 0 is the rows themselves; table ``t > 0``
    is ``packed[t - 1]``: row numbers sorted by chunk ``t``, each carrying the
    ``low_bits`` chunk bits that follow the ``top_bits`` directory bits, so most
    bucket members are rejected without touching their row. ``filters[t]`` is the
    set of chunk bits table ``t`` compares; a row found through table ``t`` is
    reported only if no earlier table would have found it, so each row once.
    """
    m = radii.shape[0]
    top_shift = np.uint64(CHUNK_BITS - top_bits)
    low_shift = np.uint64(CHUNK_BITS - top_bits - low_bits)
    low_mask = np.uint64((1 << low_bits) - 1)
    row_shift = np.uint32(row_bits)
    row_mask = np.uint32((1 << row_bits) - 1)
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
            qtop = qc[t] >> top_shift
            qlow = (qc[t] >> low_shift) & low_mask
            nm = masks_upto[s]
            # directory reads first, all independent, so the core overlaps their misses
            for mi in range(nm):
                key = qtop ^ np.uint64(masks[mi])
                los[mi] = dirs[t, key]
                his[mi] = dirs[t, key + np.uint64(1)]
            if t == 0:
                for mi in range(nm):
                    if mi + PREFETCH_AHEAD < nm:
                        _prefetch(words, los[mi + PREFETCH_AHEAD], 0)
                    for row in range(los[mi], his[mi]):
                        if _popcount64(_chunk(words, row, 0) ^ qc[0]) > s:
                            continue
                        d = _distance(words, row, q)
                        if d > radius or dead[row]:
                            continue
                        if c < cap:
                            out_rows[qi, c] = row
                            out_dist[qi, c] = d
                        c += 1
                continue
            for mi in range(nm):
                if mi + PREFETCH_AHEAD < nm:
                    _prefetch(packed, t - 1, los[mi + PREFETCH_AHEAD])
                rem = s - mask_pop[mi]
                for p in range(los[mi], his[mi]):
                    e = packed[t - 1, p]
                    if _popcount64(np.uint64(e >> row_shift) ^ qlow) > rem:
                        continue
                    row = np.int64(e & row_mask)
                    d = _distance(words, row, q)
                    if d > radius or dead[row] or not _fresh(words, row, qc, t, radii, filters):
                        continue
                    if c < cap:
                        out_rows[qi, c] = row
                        out_dist[qi, c] = d
                    c += 1
        counts[qi] = c


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


# Parallel over queries for batches; the serial twins serve small batches, where
# waking a thread pool on a busy machine costs more than the work.
brute_search = njit(parallel=True, nogil=True, cache=True)(_twin(_brute_search, "_parallel"))
brute_search_serial = njit(nogil=True, cache=True)(_twin(_brute_search, "_serial"))
mih_search = njit(parallel=True, nogil=True, cache=True)(_twin(_mih_search, "_parallel"))
mih_search_serial = njit(nogil=True, cache=True)(_twin(_mih_search, "_serial"))
