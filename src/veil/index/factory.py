"""One index per signal type, configured from the signal registry, built from a source.

``open_index`` is what a long-running process calls at start: it reuses a snapshot
when it is sound and current, otherwise rebuilds from the source and rewrites it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from veil.errors import BadSnapshot
from veil.index.hamming import HammingIndex
from veil.index.snapshot import load_snapshot, save_snapshot
from veil.index.source import IndexSource
from veil.signals import SignalType, get

log = logging.getLogger(__name__)

#: Chunk tables for 256-bit perceptual hashes: 8 chunks of 32 bits, each probed at
#: radius 3 for PDQ's threshold of 31 (see ``cycle``, ``multi_index`` and
#: BENCHMARKS.md).
PERCEPTUAL_256_TABLES = 8


def empty_index(signal: SignalType | str, *, watermark: int = 0) -> HammingIndex:
    """The index ``signal`` gets: perceptual 256-bit hashes (PDQ) the 8-table
    multi-index; other perceptual hashes (64-bit phash/dhash) a scan; digests
    (md5/sha256) equality, probing table 0 of their cycle tables."""
    st = get(signal) if isinstance(signal, str) else signal
    if st.exact_digest:
        return HammingIndex(st.name, st.bits, tables=st.bits // 32, default_threshold=0,
                            equality=True, watermark=watermark)
    tables = PERCEPTUAL_256_TABLES if st.bits == 256 else 0
    return HammingIndex(st.name, st.bits, tables=tables,
                        default_threshold=st.default_threshold, watermark=watermark)


def build_index(signal: SignalType | str, entries: Iterable[Sequence[object]], *,
                watermark: int = 0) -> HammingIndex:
    """An index over ``entries`` (``(entry_id, bank, category, value, quality)``)."""
    index = empty_index(signal, watermark=watermark)
    index.load(entries)
    return index


def open_index(signal: SignalType | str, source: IndexSource, *,
               snapshot: Path | None = None, save_min_entries: int = 0) -> HammingIndex:
    """The index of ``signal`` as of the source's current watermark.

    A snapshot at ``snapshot`` is used only if sound and current; otherwise the index
    is rebuilt from ``source.iter_active`` and, if it holds at least
    ``save_min_entries`` entries and the source's watermark did not move meanwhile,
    the snapshot rewritten (a stale or bad one that is not rewritten is removed, so it
    is not re-checked at every start).
    """
    st = get(signal) if isinstance(signal, str) else signal
    watermark = source.watermark()  # before reading: a concurrent change shows as newer
    if snapshot is not None and Path(snapshot).exists():
        started = time.perf_counter()
        try:
            index = load_snapshot(snapshot, empty_index(st), watermark=watermark)
        except BadSnapshot as exc:
            # routine (a change since it was written); the rebuild is the remedy
            log.info("index snapshot not used, rebuilding: %s", exc,
                     extra={"code": exc.code, "signal": st.name})
        else:
            log.info("index loaded from snapshot", extra={
                "signal": st.name, "entries": len(index),
                "seconds": round(time.perf_counter() - started, 3)})
            return index
    started = time.perf_counter()
    index = build_index(st, source.iter_active(st.name), watermark=watermark)
    log.info("index built from the store", extra={
        "signal": st.name, "entries": len(index),
        "seconds": round(time.perf_counter() - started, 3)})
    if snapshot is not None:
        # Saved only if the source did not move while the index was built, nor while
        # the file was written: such a file would claim ``watermark`` for what may
        # hold a change made since (or keep a hash erased meanwhile, whose erasure
        # deleted the snapshot before this one existed).
        if len(index) >= save_min_entries and source.watermark() == watermark:
            save_snapshot(index, snapshot)
        if source.watermark() != watermark or len(index) < save_min_entries:
            Path(snapshot).unlink(missing_ok=True)
    return index
