"""In-memory matchers, one per signal type, exact within the threshold.

``open_index``/``build_index`` (``factory``) give a ``HammingIndex`` (``hamming``):
live add/withdraw, ``search``/``match``/``match_dihedral`` returning ``Hit``
(``matches``), snapshots (``snapshot``). The search itself is multi-index hashing
(``multi_index``) over cycle tables that hold each hash once (``cycle``, with the
chunk geometry both share in ``chunks``), in compiled loops (``kernels``). The
tests check every result against a plain-Python brute force (``int.bit_count`` over
every entry, ``tests/index/index_data.py``) and FAISS.

Imports ``veil.signals``, ``veil.config`` and ``veil.errors``; reads banks through
the ``IndexSource`` protocol (``source``), which ``veil.store.Store`` satisfies, so
it never imports the store.
"""

from veil.index.factory import (
    build_index,
    drop_unless_newer,
    empty_index,
    open_index,
    save_if_current,
)
from veil.index.hamming import HammingIndex, IndexStats
from veil.index.matches import Hit
from veil.index.snapshot import load_snapshot, save_snapshot
from veil.index.source import EntryRow, IndexSource

__all__ = [
    "EntryRow",
    "HammingIndex",
    "Hit",
    "IndexSource",
    "IndexStats",
    "build_index",
    "drop_unless_newer",
    "empty_index",
    "load_snapshot",
    "open_index",
    "save_if_current",
    "save_snapshot",
]
