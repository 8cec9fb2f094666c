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

The remedy is to map another worker's file when there is one (no newer than this
index), else to write this index, compacted (``HammingIndex.frozen_copy``, made
while the index goes on serving and changing), and map that. The new index is
brought to this one's watermark through the feed before it replaces it; if that
replay withdraws an entry, the file still holds its hash and is removed for the
next round to write again. The old mapping is released when the last search
holding it ends.

One process writes at a time: an exclusive, non-blocking ``flock`` on a lock file
beside the snapshot. The others skip the round and map the writer's file at the
next, so N workers that see one withdrawal make one rewrite, not N. Writes of one
signal are at least ``index_rewrite_gap_s`` apart (the lock file's modification
time records the last): a withdrawal costs anyone with a case token nothing, and
a rewrite at 10M entries costs half a minute of a core, so a stream of withdrawals
must not keep a core rewriting. Withdrawals within the gap share one rewrite.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from veil.config import Settings, snapshot_path
from veil.errors import BadSnapshot
from veil.index import (
    HammingIndex,
    drop_unless_newer,
    empty_index,
    load_snapshot,
    save_snapshot,
)
from veil.matching.loading import MatchSource
from veil.matching.matcher import SNAPSHOT_REWRITE_SHARE, BankMatcher, apply_changes

log = logging.getLogger("veil.matching")


def refresh(matcher: BankMatcher, source: MatchSource, settings: Settings,
            changes: threading.Lock) -> list[str]:
    """Remap or rewrite each index that needs it (see the module); the signals whose
    index was replaced. ``changes``: the lock every change to ``matcher`` is applied
    under (the live matcher's sync lock). It is held only to swap an index in: the
    rewrite (half a minute at 10M entries) and the mapping run without it, so the
    requests whose changes this process applies as they commit do not wait."""
    done = []
    for name in list(matcher.indexes):
        index = matcher.indexes[name]
        path = snapshot_path(settings.home, name)
        why = stale_reason(index, settings.index_snapshot_min_entries)
        if why is None:
            continue
        started = time.perf_counter()
        new = _renew(name, index, source, path, settings.index_rewrite_gap_s)
        if new is None:
            continue
        with changes:
            current = matcher.indexes[name]
            # what was applied to the old index since the new one's file was written
            _, _, withdrawn = apply_changes(
                new, source.changes(name, after=new.watermark, upto=current.watermark))
            new.watermark = current.watermark
            matcher.indexes[name] = new
        if withdrawn:
            # the file holds a hash withdrawn since it was written: the next round
            # writes it again (the gap permitting)
            drop_unless_newer(path, withdrawn)
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
           gap_s: float) -> HammingIndex | None:
    """Another process's newer file, else this index written (``frozen_copy``: it
    goes on changing meanwhile), mapped; None if neither may be done now."""
    lock = path.with_name(path.name + ".lock")
    with _exclusive(lock) as held:
        if not held:
            return None  # another process is writing it: its file is mapped next round
        theirs = _theirs(name, index, source, path)
        if theirs is not None:
            return theirs
        if time.time() - lock.stat().st_mtime < gap_s:
            return None  # written a moment ago: this change waits for the gap
        copy = index.frozen_copy()
        try:
            save_snapshot(copy, path, store=source.identity())
        finally:
            os.utime(lock)
        del copy
        try:
            return load_snapshot(path, empty_index(name), watermark=None, mapped=True)
        except BadSnapshot as exc:
            log.warning("shared index not mapped: %s", exc, extra={"signal": name})
            return None


def _theirs(name: str, index: HammingIndex, source: MatchSource,
            path: Path) -> HammingIndex | None:
    """The file at ``path`` mapped, if it is another than the one mapped, from this
    store, and no newer than ``index`` (the caller replays the feed from it)."""
    mapped = index.mapped
    if mapped is not None and not mapped.replaced():
        return None
    try:
        new = load_snapshot(path, empty_index(name), watermark=source.watermark(),
                            store=source.identity(), mapped=True)
    except (BadSnapshot, FileNotFoundError):
        return None
    # written after this process's last catch-up: mapped at the next round
    return None if new.watermark > index.watermark else new


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
