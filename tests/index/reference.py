"""The brute-force reference: every bank hash compared with every query, in numpy.

Independent of the compiled kernels on purpose: the tests check the index against
it, so a bug shared by both would have to be written twice.
"""

from __future__ import annotations

import numpy as np

#: (query, row, word) triples compared per step: bounds the temporaries to ~32 MiB
#: whatever the number of queries.
_ELEMENTS_PER_STEP = 1 << 22


def hamming_matrix(queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``(len(queries), len(rows))`` Hamming distances between packed uint64 rows."""
    x = queries[:, None, :] ^ rows[None, :, :]
    return np.bitwise_count(x).sum(axis=2, dtype=np.int64)


def brute_force(queries: np.ndarray, rows: np.ndarray, radius: int) -> list[np.ndarray]:
    """For each packed query, ``(row, distance)`` pairs within ``radius``, sorted by row."""
    found: list[list[np.ndarray]] = [[] for _ in range(len(queries))]
    step = max(64, _ELEMENTS_PER_STEP // max(1, len(queries) * rows.shape[1]))
    for start in range(0, len(rows), step):
        d = hamming_matrix(queries, rows[start:start + step])
        for qi in range(len(queries)):
            hit = np.flatnonzero(d[qi] <= radius)
            if len(hit):
                found[qi].append(np.stack([hit + start, d[qi, hit]], axis=1))
    return [np.concatenate(f) if f else np.empty((0, 2), np.int64) for f in found]
