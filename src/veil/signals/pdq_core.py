"""Veil's own PDQ arithmetic, used by the fast path; ``pdqhash`` stays the reference.

Two downsamplers produce PDQ's 64×64 luma buffer:

* ``downsample_exact`` replays the reference C++ (two passes of Jarosz box filters
  with running float32 sums, then decimation at cell centres) operation for
  operation, so for identical pixels it gives the reference's buffer bit for bit.
* ``downsample_reduced`` starts from a plane the JPEG codec decoded at 1/2, 1/4 or
  1/8 scale. The reference's filter+decimate is linear and separable, so along each
  axis it is a 64×N weight matrix over the *full-resolution* pixels; summing those
  weights over each k×k block and applying them to the block means the codec gives
  reproduces the full-resolution buffer up to within-block detail. (Running PDQ
  on the reduced image directly would use a different window size and sample
  positions, which is why the naive shortcut drifts.)

The rest (quality metric, 16×16 DCT, median threshold, dihedral variants) mirrors
the reference in float32 with the same summation order, so it is exact too.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np

from veil.media.orientation import Orientation
from veil.signals.hexhash import bits_hex

OUT = 64
#: Reference: images with a side below this hash to all zeros, quality 0.
MIN_HASHABLE_DIM = 5
_F32 = np.float32


def jarosz_window(n: int, out: int = OUT) -> int:
    return (n + 2 * out - 1) // (2 * out)


def _decimation_index(n: int, out: int = OUT) -> np.ndarray:
    return np.array([int(((i + 0.5) * n) / out) for i in range(out)], dtype=np.intp)


def _box_window(n: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive [lo, hi] input range of each output of the reference's box1DFloat."""
    half = (w + 2) // 2
    o = np.arange(n)
    return np.maximum(o - (w - half), 0), np.minimum(o + half - 1, n - 1)


# -- exact replay of the reference downsampler ---------------------------------------
def _box_rows_exact(x: np.ndarray, w: int) -> np.ndarray:
    """box1DFloat along axis 0 of ``x`` (n, m), vectorised over m, float32 throughout."""
    n = x.shape[0]
    y = np.empty_like(x)
    half = (w + 2) // 2
    s = np.zeros(x.shape[1], dtype=_F32)
    ri = li = oi = 0
    cnt = 0
    for _ in range(half - 1):
        s = s + x[ri]
        cnt += 1
        ri += 1
    for _ in range(w - half + 1):
        s = s + x[ri]
        cnt += 1
        y[oi] = s / _F32(cnt)
        ri += 1
        oi += 1
    for _ in range(n - w):
        s = s + x[ri]
        s = s - x[li]
        y[oi] = s / _F32(cnt)
        li += 1
        ri += 1
        oi += 1
    for _ in range(half - 1):
        s = s - x[li]
        cnt -= 1
        y[oi] = s / _F32(cnt)
        li += 1
        oi += 1
    return y


def downsample_exact(luma: np.ndarray) -> np.ndarray:
    """The reference's blur+decimate of a float32 luma plane to 64×64."""
    buf = np.ascontiguousarray(luma, dtype=_F32)
    rows, cols = buf.shape
    if rows == OUT and cols == OUT:
        return buf.copy()
    wr, wc = jarosz_window(cols), jarosz_window(rows)
    t = np.ascontiguousarray(buf.T)
    for _ in range(2):
        t = _box_rows_exact(t, wr)  # along each row (t is transposed)
        t = np.ascontiguousarray(_box_rows_exact(np.ascontiguousarray(t.T), wc).T)
    full = t.T
    return np.ascontiguousarray(full[np.ix_(_decimation_index(rows), _decimation_index(cols))])


# -- weight-matrix downsampler for codec-reduced planes ---------------------------------
def _tent_rows(n: int) -> Iterator[np.ndarray]:
    """Each output's weights on the ``n`` inputs of two box passes + decimation, one
    row (n float64) at a time: the whole (64, n) matrix is 512 bytes an input pixel,
    megabytes for a large photo, where the codec-reduced path needs only its block
    sums."""
    w = jarosz_window(n)
    lo, hi = _box_window(n, w)
    inv = 1.0 / (hi - lo + 1)
    for c in _decimation_index(n):
        # second pass at c averages first-pass outputs k in [lo[c], hi[c]], each of
        # which averages inputs [lo[k], hi[k]]: accumulate with a difference array.
        diff = np.zeros(n + 1)
        ks = np.arange(lo[c], hi[c] + 1)
        np.add.at(diff, lo[ks], inv[ks] * inv[c])
        np.add.at(diff, hi[ks] + 1, -inv[ks] * inv[c])
        yield np.cumsum(diff[:n])


#: Sizes whose weights stay cached: a batch of one camera's photos reuses them, and
#: each is up to 15 MiB (64 × 30,000 float64), so a few distinct sizes, not many.
TENT_CACHE_SIZES = 4


@lru_cache(maxsize=TENT_CACHE_SIZES)
def tent_weights(n: int) -> np.ndarray:
    """(64, n) float64: output i of two box passes + decimation as weights on the input."""
    weights = np.empty((OUT, n))
    for i, row in enumerate(_tent_rows(n)):
        weights[i] = row
    weights.flags.writeable = False
    return weights


def block_weights(n: int, factor: int, flipped: bool) -> np.ndarray:
    """(64, ceil(n/factor)): ``tent_weights`` summed over each codec block."""
    nb = -(-n // factor)
    edges = np.minimum(np.arange(nb + 1) * factor, n)
    if flipped:
        # block J of the flipped plane is stored block nb-1-J: oriented pixels
        # [n - edge[nb-J], n - edge[nb-1-J]).
        edges = (n - edges)[::-1]
    agg = np.empty((OUT, nb))
    for i, row in enumerate(_tent_rows(n)):
        csum = np.concatenate([np.zeros(1), np.cumsum(row)])
        agg[i] = csum[edges[1:]] - csum[edges[:-1]]
    return agg


@lru_cache(maxsize=64)
def block_band(n: int, factor: int, flipped: bool) -> tuple[np.ndarray, np.ndarray]:
    """``block_weights`` as a band: (64, L) block indices and their weights, L the
    widest support of any output (a tent spans a handful of blocks: 7-10 of 354 for
    a 12 MP photo at 1/8).

    Applying the band is ~30x less arithmetic than the dense (64, n/k) product and
    needs no BLAS: OpenBLAS runs a product that size on every core and its threads
    then spin, which halved whole-process throughput when each core already runs a
    hashing worker (BENCHMARKS.md). Weights below 1e-12 of a row's largest are the
    cumulative sums' rounding noise outside the tent, and are dropped.
    """
    w = block_weights(n, factor, flipped)
    live = np.abs(w) > 1e-12 * np.abs(w).max(axis=1, keepdims=True)
    lo = live.argmax(axis=1)
    hi = w.shape[1] - live[:, ::-1].argmax(axis=1)
    width = int((hi - lo).max())
    idx = np.minimum(lo, w.shape[1] - width)[:, None] + np.arange(width)[None, :]
    weights = np.take_along_axis(w, idx, axis=1)
    idx.flags.writeable = False
    weights.flags.writeable = False
    return idx, weights


def downsample_reduced(
    luma: np.ndarray, factor: int, full_size: tuple[int, int], orientation: Orientation
) -> np.ndarray:
    """64×64 buffer of the full-resolution image, from a 1/``factor``-scale stored plane."""
    full_w, full_h = full_size
    if factor == 1 and orientation.value == 1:
        return downsample_exact(luma)
    plane = orientation.apply(np.asarray(luma, dtype=np.float64))
    # full-resolution (rows, cols) in displayed orientation
    n_rows, n_cols = (full_w, full_h) if orientation.transposed else (full_h, full_w)
    if factor == 1:
        return downsample_exact(np.ascontiguousarray(plane, dtype=_F32))
    if -(-n_rows // factor) != plane.shape[0] or -(-n_cols // factor) != plane.shape[1]:
        raise ValueError(f"reduced plane {plane.shape} does not match {full_size}/{factor}")
    ri, rw = block_band(n_rows, factor, orientation.flip_rows)
    ci, cw = block_band(n_cols, factor, orientation.flip_cols)
    # wr @ plane @ wc.T, each product over the band only (einsum: no BLAS threads)
    rows: np.ndarray = np.einsum("il,ilc->ic", rw, plane[ri])
    buf: np.ndarray = np.einsum("jl,ijl->ij", cw, rows[:, ci])
    return buf.astype(_F32)


#: Rows of a grey plane weighed per step by ``downsample_grey``.
GREY_STRIP_ROWS = 512


def downsample_grey(grey: np.ndarray) -> np.ndarray:
    """64×64 buffer of an 8-bit grey plane too large to hold in float: the
    full-resolution weights (``tent_weights``) applied a strip of rows at a time, in
    float64. Against the reference's float32 running sums and its own RGB luma, the
    hash drifts by a bit or two at most (tests/signals)."""
    rows, cols = grey.shape
    wr = tent_weights(rows)
    wc_t = np.ascontiguousarray(tent_weights(cols).T)
    acc = np.zeros((OUT, OUT))
    for top in range(0, rows, GREY_STRIP_ROWS):
        strip = grey[top:top + GREY_STRIP_ROWS].astype(np.float64)
        acc += wr[:, top:top + len(strip)] @ (strip @ wc_t)
    return acc.astype(_F32)


# -- quality, DCT, bits: same float32 arithmetic as the reference ------------------------
def _dct_matrix() -> np.ndarray:
    scale = _F32(np.sqrt(2.0 / 64.0))
    i = np.arange(1, 17, dtype=np.float64)[:, None]
    j = np.arange(64, dtype=np.float64)[None, :]
    return (np.float64(scale) * np.cos((np.pi / 2.0 / 64.0) * i * (2 * j + 1))).astype(_F32)


DCT = _dct_matrix()


def quality(buf: np.ndarray) -> int:
    a = np.asarray(buf, dtype=_F32)
    dv = (((a[:-1, :] - a[1:, :]) * _F32(100)) / _F32(255)).astype(np.int32)
    dh = (((a[:, :-1] - a[:, 1:]) * _F32(100)) / _F32(255)).astype(np.int32)
    gradient_sum = int(np.abs(dv).sum() + np.abs(dh).sum())
    return min(gradient_sum // 90, 100)


def dct16(buf: np.ndarray) -> np.ndarray:
    """B = D·A·Dᵀ summed k = 0..63 in order, float32 at every step, like the reference."""
    a = np.asarray(buf, dtype=_F32)
    t = np.zeros((16, 64), dtype=_F32)
    for k in range(64):
        t += DCT[:, k : k + 1] * a[k : k + 1, :]
    b = np.zeros((16, 16), dtype=_F32)
    for k in range(64):
        b += t[:, k : k + 1] * DCT[:, k][None, :]
    return b


def dct_hex(b: np.ndarray) -> str:
    """Bit i*16+j set where B[i][j] exceeds the median (Torben: 128th smallest)."""
    flat = np.asarray(b, dtype=_F32).reshape(256)
    median = np.partition(flat, 127)[127]
    return bits_hex((flat > median)[::-1])


def dihedral(b: np.ndarray) -> list[np.ndarray]:
    """DCT buffers of the 8 dihedral images, in the reference's order:
    original, rot90, rot180, rot270, flipx, flipy, flip+1, flip-1."""
    i = np.arange(16)[:, None]
    j = np.arange(16)[None, :]
    odd_i = (i & 1).astype(bool)
    odd_j = (j & 1).astype(bool)
    odd_ij = ((i + j) & 1).astype(bool)
    neg = -b
    return [
        b,
        np.where(odd_j, b, neg).T,  # rot90: B[j][i] = A[i][j] if j odd else -A
        np.where(odd_ij, neg, b),  # rot180
        np.where(odd_i, b, neg).T,  # rot270
        np.where(odd_i, b, neg),  # flipx
        np.where(odd_j, b, neg),  # flipy
        b.T.copy(),  # flip+1
        np.where(odd_ij, neg, b).T,  # flip-1
    ]

