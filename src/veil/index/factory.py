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
from veil.index.snapshot import load_snapshot, read_header, save_snapshot
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
               snapshot: Path | None = None, save_min_entries: int = 0,
               mapped: bool = False) -> HammingIndex:
    """The index of ``signal``, from its snapshot when that is sound and either
    current or behind the source and written from it, else rebuilt from the source.

    A snapshot behind the source gives an index at the snapshot's watermark: the
    caller applies the change feed from there (``BankMatcher.load`` does), which at
    100M entries takes seconds where a rebuild takes minutes. A rebuilt index is
    written back as the snapshot (``save_if_current``); a stale or bad snapshot that
    is not rewritten is removed, so it is not re-checked at every start.
    ``mapped``: the snapshot is mapped (``load_snapshot``), a rebuilt index too once
    written.
    """
    st = get(signal) if isinstance(signal, str) else signal
    identity = source.identity()
    watermark = source.watermark()  # before reading: a concurrent change shows as newer
    if snapshot is not None and Path(snapshot).exists():
        started = time.perf_counter()
        try:
            index = load_snapshot(snapshot, empty_index(st), watermark=watermark,
                                  store=identity, mapped=mapped)
        except BadSnapshot as exc:
            # routine (a change since it was written); the rebuild is the remedy
            log.info("index snapshot not used, rebuilding: %s", exc,
                     extra={"code": exc.code, "signal": st.name})
        else:
            log.info("index loaded from snapshot", extra={
                "signal": st.name, "entries": len(index), "behind": watermark - index.watermark,
                "seconds": round(time.perf_counter() - started, 3)})
            return index
    started = time.perf_counter()
    index = build_index(st, source.iter_active(st.name), watermark=watermark)
    log.info("index built from the store", extra={
        "signal": st.name, "entries": len(index),
        "seconds": round(time.perf_counter() - started, 3)})
    if snapshot is not None and save_if_current(index, source, snapshot,
                                                min_entries=save_min_entries) and mapped:
        # the copy just written replaces the one built here: its pages are shared
        index = load_snapshot(snapshot, empty_index(st), watermark=None, mapped=True)
    return index


def save_if_current(index: HammingIndex, source: IndexSource, snapshot: Path, *,
                    min_entries: int) -> bool:
    """Write ``index`` as ``snapshot`` if it holds at least ``min_entries`` entries
    and reflects the source's watermark before and after the write; otherwise
    remove any snapshot there. True if written.

    Such a file would otherwise claim ``index.watermark`` for what may hold a change
    made since (or keep a hash erased meanwhile, whose erasure deleted the snapshot
    before this one existed).
    """
    written = False
    if len(index) >= min_entries and source.watermark() == index.watermark:
        save_snapshot(index, snapshot, store=source.identity())
        written = source.watermark() == index.watermark
    if not written:
        Path(snapshot).unlink(missing_ok=True)
    return written


def drop_unless_newer(snapshot: Path, watermark: int) -> None:
    """Remove ``snapshot`` unless it was written at ``watermark`` or later: a file
    older than a withdrawal's generation may hold the erased hash, while a newer one
    was compacted from an index that had applied it (another worker's,
    ``veil.matching.shared``), and removing it would only make another rewrite."""
    try:
        built = read_header(snapshot).get("watermark")
    except BadSnapshot:
        built = None
    if not (isinstance(built, int) and built >= watermark):
        Path(snapshot).unlink(missing_ok=True)
