"""Loading the compiled search loops before they are needed, starting no threads.

``veil serve --workers`` forks its workers from a parent that has loaded numba's
machine code for the loops a search runs, so the workers share those pages (about
100 MB a process) instead of each loading a copy. Only the serial variants run here:
a parallel loop starts OpenMP's thread pool, after which GNU OpenMP aborts a forked
child that uses it. Each worker loads the parallel variants on first use (a few MB).
"""

from __future__ import annotations

import numpy as np

from veil.index.factory import empty_index
from veil.index.hamming import CYCLE_MIN_ROWS
from veil.index.multi_index import NUMPY_SCAN_MAX
from veil.index.packing import unpack_hex


def warm_serial_kernels() -> None:
    """Run every serial kernel a service process uses once, on throw-away data."""
    rng = np.random.default_rng(0)
    for signal, rows in (("pdq", CYCLE_MIN_ROWS), ("phash", NUMPY_SCAN_MAX + 1)):
        index = empty_index(signal)  # pdq: cycle tables; phash: rows scanned
        words = rng.integers(0, 1 << 62, (rows, index.bits // 64), dtype=np.int64)
        index.load_packed([(np.arange(rows), words.astype(np.uint64))], "warm", "warm")
        query = unpack_hex(words[:1].astype(np.uint64), index.bits)
        # one query: the serial search; values: the serial decode (pdq)
        index.search(list(query), 0, values=True)
        index.withdraw(0)  # pdq: erases in the cycle tables
