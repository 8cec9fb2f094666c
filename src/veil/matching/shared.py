"""Indexes shared by the processes of one home: memory-mapped snapshot files.

With ``VEIL_INDEX_SHARED`` (``veil serve --workers N`` sets it) each worker maps a
signal's snapshot instead of holding a copy of its own: the pages are the page
cache's, one copy for every worker. Each worker still applies the change feed
itself, in its own memory: a tail of added rows beside the mapped block, tombstones,
and the records a withdrawal zeroes (copied on write, the file is untouched).
``refresh`` keeps that private part small and the file honest:

* *replaced*: the file is no longer the one mapped. A withdrawal seen in the feed
  removes a snapshot older than it (``BankMatcher.catch_up``): the file would keep
  the erased hash as long as anything maps it. Or another worker wrote a newer one.
* *grown*: the rows beside the mapping reach ``max(min_entries, 10%)`` of the
  mapped ones (what ``BankMatcher.load`` rewrites an unmapped snapshot at).
* *unmapped*: an index that reached ``index_snapshot_min_entries``, or whose
  snapshot could not be written last time.

The remedy is to map another worker's file when it is newer and clean (the feed
from its watermark to this index's withdraws nothing), else to write this index,
compacted, and map that. The new index is brought to this one's watermark before it
replaces it; the old mapping is released when the last search holding it ends.

One process writes at a time: an exclusive, non-blocking ``flock`` on a lock file
beside the snapshot. The others skip the round and map the writer's file at the
next, so N workers that see one withdrawal make one rewrite, not N. Writes of one
signal are at least ``index_rewrite_gap_s`` apart (the lock file's modification
time records the last): a withdrawal costs anyone with a case token nothing, and
a rewrite at 10M entries costs seconds of a core, so a stream of withdrawals must
not keep a core rewriting. Withdrawals within the gap share one rewrite.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from veil.config import Settings, snapshot_path
from veil.errors import BadSnapshot
from veil.index import HammingIndex, empty_index, load_snapshot, save_if_current
from veil.matching.loading import MatchSource
from veil.matching.matcher import SNAPSHOT_REWRITE_SHARE, BankMatcher, apply_changes

log = logging.getLogger("veil.matching")


def refresh(matcher: BankMatcher, source: MatchSource, settings: Settings) -> list[str]:
    """Remap or rewrite each index that needs it (see the module); the signals whose
    index was replaced. The caller holds off other changes to ``matcher`` (the live
    matcher's sync lock): a change applied meanwhile to the old index would be lost."""
    done = []
    for name, index in list(matcher.indexes.items()):
        path = snapshot_path(settings.home, name)
        why = stale_reason(index, settings.index_snapshot_min_entries)
        if why is None:
            continue
        started = time.perf_counter()
        new = _renew(name, index, source, path, settings.index_snapshot_min_entries,
                     settings.index_rewrite_gap_s)
        if new is None:
            continue
        matcher.indexes[name] = new
        done.append(name)
        log.info("shared index remapped", extra={
            "signal": name, "why": why, "entries": len(new),
            "seconds": round(time.perf_counter() - started, 3)})
    return done


def stale_reason(index: HammingIndex, min_entries: int) -> str | None:
    """Why ``index`` should be remapped (``replaced``, ``grown``, ``unmapped``), or
    None."""
    m = index.mapped
    if m is None:
        return "unmapped" if len(index) and len(index) >= min_entries else None
    if m.replaced():
        return "replaced"
    if index.rows_beside_mapped() >= max(min_entries, m.rows * SNAPSHOT_REWRITE_SHARE, 1):
        return "grown"
    return None


def _renew(name: str, index: HammingIndex, source: MatchSource, path: Path,
           min_entries: int, gap_s: float) -> HammingIndex | None:
    lock = path.with_name(path.name + ".lock")
    with _exclusive(lock) as held:
        if not held:
            return None  # another process is writing it: its file is mapped next round
        theirs = _theirs(name, index, source, path, min_entries)
        if theirs is not None:
            return theirs
        if time.time() - lock.stat().st_mtime < gap_s:
            return None  # written a moment ago: this change waits for the gap
        written = save_if_current(index, source, path, min_entries=min_entries)
        os.utime(lock)
        if not written:
            return None  # the store moved on meanwhile: next round, once caught up
        return _mapped_at(name, index, source, path)


def _theirs(name: str, index: HammingIndex, source: MatchSource, path: Path,
            min_entries: int) -> HammingIndex | None:
    """The file at ``path`` mapped and brought to ``index``'s watermark, if it is
    another than the one mapped, no newer than ``index``, and nothing since it
    was written withdraws an entry (it would still hold the hash)."""
    mapped = index.mapped
    if mapped is not None and not mapped.replaced():
        return None
    try:
        new = load_snapshot(path, empty_index(name), watermark=source.watermark(),
                            store=source.identity(), mapped=True)
    except (BadSnapshot, FileNotFoundError):
        return None
    if new.watermark > index.watermark:
        return None  # written after this process's last catch-up: the next one
    _, _, withdrawn = apply_changes(
        new, source.changes(name, after=new.watermark, upto=index.watermark))
    if withdrawn or stale_reason(new, min_entries) is not None:
        return None
    new.watermark = index.watermark
    return new


def _mapped_at(name: str, index: HammingIndex, source: MatchSource,
               path: Path) -> HammingIndex | None:
    """What was just written from ``index``, mapped."""
    try:
        return load_snapshot(path, empty_index(name), watermark=index.watermark,
                             store=source.identity(), mapped=True)
    except BadSnapshot as exc:
        log.warning("shared index not mapped: %s", exc, extra={"signal": name})
        return None


@contextlib.contextmanager
def _exclusive(lock: Path) -> Iterator[bool]:
    """Whether this process holds ``lock`` exclusively for the block (never waits)."""
    lock.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        os.utime(fd, (0, 0))  # new: no write yet, so no gap to wait for
    except FileExistsError:
        fd = os.open(lock, os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
