"""A bank of region signals that finds, for an upload, the few banked photos worth
verifying, without comparing it with every one.

Each banked keypoint is entered in ``buckets.TABLES`` hash tables under substrings
of its descriptor; an upload's keypoints vote for the photos whose keypoints share a
substring with theirs, and the photos with the most votes are the candidates. Only
they are verified (``compare.compare``: ratio test and RANSAC), from their blobs,
which sit in a ``Shelf`` (one buffer, or a mapped file for a large bank). The
tables hold 4 bytes a keypoint a table and nothing else of a photo; the method and
its measurements are in docs/derived.md ("Searching a bank").

Photos added after the tables were built go to a small second set of tables, rebuilt
when searched after a change; once it outgrows an eighth of the main one, both are
merged (and withdrawn photos dropped) in one rebuild, so adding photos one by one
costs, amortised, a few rebuilds of the bank.

Searches may run in several threads at once (each has its own vote counts, and the
compiled loops release the GIL); additions and withdrawals must not run beside them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from veil.errors import BadInput
from veil.regions import blob, buckets
from veil.regions.compare import RegionMatch, compare
from veil.regions.features import Features
from veil.regions.shelf import Shelf

#: Candidates verified per upload by default. At 1M photos the source is the first
#: candidate for 97.6 % of matching uploads and among the first 4 for 98.5 %, and
#: 32 find no more; verifying 4 costs ~8 ms, about the vote's cost
#: (docs/derived.md, "Searching a bank").
CANDIDATES = 4
#: Votes a photo needs to be a candidate at all: one shared key is what chance
#: gives (a bucket holds ~15 entries at 1M photos).
MIN_VOTES = 2
#: A bucket holding more entries than this many times the average is skipped: its
#: key is too common (flat or repeated texture) to say anything.
CROWDED = 64
#: The second set of tables is merged into the main one beyond this many photos
#: or an eighth of the main one, whichever is more.
DELTA_MIN = 4096
#: Banked photos whose descriptors are decoded at once while the tables are built.
BUILD_CHUNK = 65_536
META_FILE = "index.json"
KEYS_FILE = "keys.npy"


class RegionIndex:
    """Banked photos' region signals under integer keys (the store's row ids)."""

    def __init__(self, *, tables: int = buckets.TABLES, bits: int = buckets.BITS) -> None:
        self.tables = tables
        self.bits = bits
        self._main = _Segment.empty(tables, bits)
        self._delta = _Segment.empty(tables, bits)
        self._pending_keys: list[int] = []
        self._pending_blobs: list[bytes] = []

    # --- contents ------------------------------------------------------------------

    def __len__(self) -> int:
        return self._main.live + self._delta.live + len(self._pending_keys)

    def add(self, key: int, features: Features) -> None:
        """Bank ``features`` under ``key`` (replacing what ``key`` held)."""
        self.add_many([key], [features])

    def add_many(self, keys: Sequence[int], features_list: Sequence[Features]) -> None:
        """Bank many photos at once; the tables are built when next searched."""
        if len(keys) != len(features_list):
            raise ValueError("one key per features")
        self.add_blobs(keys, [blob.encode(f) for f in features_list])

    def add_blobs(self, keys: Sequence[int], blobs: Sequence[bytes]) -> None:
        """Bank photos by their stored blobs (as a store holds them); each is checked."""
        if len(keys) != len(blobs):
            raise ValueError("one key per blob")
        for b in blobs:
            blob.decode(b)
        new = np.asarray(keys, np.int64)
        if np.unique(new).shape[0] != new.shape[0]:
            raise ValueError("a key appears twice")
        self._withdraw(new)
        self._pending_keys.extend(int(k) for k in new)
        self._pending_blobs.extend(blobs)

    def remove(self, key: int) -> bool:
        """Withdraw ``key``: it is never returned again. False if it was not banked."""
        return self._withdraw(np.array([key], np.int64))

    def _withdraw(self, keys: np.ndarray) -> bool:
        found = self._main.withdraw(keys) | self._delta.withdraw(keys)
        if self._pending_keys:
            drop = np.isin(np.asarray(self._pending_keys, np.int64), keys)
            if drop.any():
                found = True
                self._pending_keys = [k for k, d in zip(self._pending_keys, drop, strict=True)
                                      if not d]
                self._pending_blobs = [b for b, d in zip(self._pending_blobs, drop, strict=True)
                                       if not d]
        return found

    # --- search --------------------------------------------------------------------

    def candidates(self, query: Features, limit: int = CANDIDATES) -> list[tuple[int, float]]:
        """Up to ``limit`` keys worth verifying against ``query``, most votes first,
        with their votes (keypoints sharing a descriptor substring)."""
        self._settle()
        if limit < 1 or len(query) == 0 or len(self) == 0:
            return []
        qkeys = buckets.keys_of(query.descriptors, self.tables, self.bits)
        n_main = self._main.slots
        counts = np.zeros(n_main + self._delta.slots, np.uint16)
        touched = np.empty(counts.shape[0], np.int64)
        n = 0
        for seg, base in ((self._main, 0), (self._delta, n_main)):
            if seg.slots:
                t = seg.tables
                got = buckets.vote(t.offsets, t.slots, t.keys, t.shift, qkeys,
                                   seg.max_bucket, counts[base:], touched[n:], 0)
                touched[n:n + got] += base
                n += got
        slots = touched[:n]
        votes = counts[slots].astype(np.int64)
        keep = votes >= MIN_VOTES
        slots, votes = slots[keep], votes[keep]
        # withdrawn photos still take votes until the next rebuild; they are dropped
        # here, before the top is taken, so they never crowd out a live one
        in_main = slots < n_main
        live = np.empty(slots.shape[0], bool)
        live[in_main] = self._main.alive[slots[in_main]]
        live[~in_main] = self._delta.alive[slots[~in_main] - n_main]
        slots, votes = slots[live], votes[live]
        if slots.shape[0] > limit:
            part = np.argpartition(-votes, limit - 1)[:limit]
            slots, votes = slots[part], votes[part]
        order = np.lexsort((slots, -votes))
        return [(self._key_at(int(s), n_main), float(v))
                for s, v in zip(slots[order], votes[order], strict=True)]

    def _key_at(self, slot: int, n_main: int) -> int:
        return int(self._main.keys[slot] if slot < n_main else self._delta.keys[slot - n_main])

    def search(self, query: Features, *, limit: int = CANDIDATES) -> list[tuple[int, RegionMatch]]:
        """Banked photos that ``query`` matches (verified by ``compare``), most
        agreeing keypoints first, among the ``limit`` best candidates."""
        return self.verify(query, self.candidates(query, limit))

    def verify(self, query: Features,
               candidates: Sequence[tuple[int, float]]) -> list[tuple[int, RegionMatch]]:
        """The ``candidates`` that ``compare`` confirms, most agreeing keypoints first."""
        found = []
        for key, _ in candidates:
            m = compare(self.features(key), query)
            if m is not None:
                found.append((key, m))
        found.sort(key=lambda km: -km[1].inliers)
        return found

    def features(self, key: int) -> Features:
        """The banked features of ``key`` (from its blob)."""
        self._settle()
        for seg in (self._main, self._delta):
            slot = seg.slot_of(key)
            if slot is not None:
                return blob.decode(seg.shelf.blob(slot))
        raise KeyError(key)

    # --- upkeep --------------------------------------------------------------------

    def _settle(self) -> None:
        """Build the tables for what was added or withdrawn since the last search."""
        if not (self._pending_keys or self._delta.needs_compacting()
                or self._main.needs_compacting()):
            return
        keys = np.asarray(self._pending_keys, np.int64)
        added = Shelf.of(self._pending_blobs)
        self._pending_keys, self._pending_blobs = [], []
        delta_keys, delta_shelf = self._delta.live_part()
        delta_keys = np.concatenate([delta_keys, keys])
        delta_shelf = delta_shelf.concat(added)
        main_live = self._main.live
        if delta_keys.shape[0] > max(DELTA_MIN, main_live // 8) or self._main.needs_compacting():
            main_keys, main_shelf = self._main.live_part()
            self._main = _Segment.build(np.concatenate([main_keys, delta_keys]),
                                        main_shelf.concat(delta_shelf), self.tables,
                                        self.bits)
            self._delta = _Segment.empty(self.tables, self.bits)
        else:
            self._delta = _Segment.build(delta_keys, delta_shelf, self.tables, self.bits)

    def save(self, directory: Path) -> None:
        """Write the bank to ``directory`` (blobs, keys); ``load`` maps its blobs."""
        self._settle()
        if self._delta.slots:
            self._main = _Segment.build(*_joined(self._main, self._delta), self.tables,
                                        self.bits)
            self._delta = _Segment.empty(self.tables, self.bits)
        keys, shelf = self._main.live_part()
        shelf.write(directory)
        np.save(directory / KEYS_FILE, keys)
        (directory / META_FILE).write_text(json.dumps(
            {"version": 1, "tables": self.tables, "bits": self.bits, "photos": len(keys)}))

    @classmethod
    def load(cls, directory: Path) -> RegionIndex:
        """A bank written by ``save`` (or by a ``ShelfWriter`` beside a ``keys.npy``
        and an ``index.json``), its blobs mapped from disk and its tables built in
        memory."""
        try:
            meta = json.loads((directory / META_FILE).read_text())
            tables, bits = int(meta["tables"]), int(meta["bits"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise BadInput(f"no region index in {directory}: {e}",
                           code="region.index_missing") from e
        index = cls(tables=tables, bits=bits)
        keys = np.load(directory / KEYS_FILE)
        shelf = Shelf.open(directory)
        if keys.ndim != 1 or np.unique(keys).shape[0] != keys.shape[0]:
            raise BadInput(f"region index in {directory} repeats a key",
                           code="region.index_malformed")
        if len(shelf) != keys.shape[0]:
            raise BadInput(f"region index in {directory} has {len(shelf)} blobs for "
                           f"{keys.shape[0]} keys", code="region.index_malformed")
        index._main = _Segment.build(keys, shelf, tables, bits)
        return index

    @property
    def memory_bytes(self) -> int:
        """Bytes the index holds in memory (tables, keys, flags), blobs mapped from a
        file not counted."""
        return self._main.memory_bytes + self._delta.memory_bytes


def _joined(a: _Segment, b: _Segment) -> tuple[np.ndarray, Shelf]:
    ak, ash = a.live_part()
    bk, bsh = b.live_part()
    return np.concatenate([ak, bk]), ash.concat(bsh)


class _Segment:
    """Photos ``0..slots-1`` of one set of tables: their keys, blobs and whether
    each is still banked."""

    def __init__(self, keys: np.ndarray, shelf: Shelf, tables: buckets.Tables) -> None:
        self.keys = keys
        self.shelf = shelf
        self.tables = tables
        self.alive = np.ones(keys.shape[0], bool)
        self.live = int(keys.shape[0])
        # keys are unique within a segment; sorted, a key's slot is a binary search
        # (a scan of a million keys per verified candidate cost ~1 ms)
        self._order = np.argsort(keys, kind="stable").astype(np.uint32)
        self._sorted = keys[self._order]
        entries = tables.entries
        buckets_n = tables.offsets.shape[1] - 1
        self.max_bucket = max(CROWDED, int(CROWDED * entries / max(1, buckets_n)))

    @classmethod
    def empty(cls, tables: int, bits: int) -> _Segment:
        return cls(np.zeros(0, np.int64), Shelf.of([]), buckets.empty(tables, 0, bits=bits))

    @classmethod
    def build(cls, keys: np.ndarray, shelf: Shelf, tables: int, bits: int) -> _Segment:
        per_point = blob.size_for(1) - blob.size_for(0)
        total = int((shelf.nbytes - len(shelf) * blob.size_for(0)) // per_point)
        built = buckets.empty(tables, total, bits=bits)
        for t in range(tables):
            tkeys = np.empty(total, np.uint32)
            tslots = np.empty(total, np.uint32)
            at = 0
            for start in range(0, len(shelf), BUILD_CHUNK):
                stop = min(len(shelf), start + BUILD_CHUNK)
                desc, rows = shelf.descriptors(start, stop)
                m = desc.shape[0]
                tkeys[at:at + m] = buckets.keys_of(desc, 1, bits, first=t)[0]
                tslots[at:at + m] = rows + start
                at += m
            buckets.fill(built, t, tkeys, tslots)
            shelf.release()
        return cls(keys, shelf, built)

    @property
    def slots(self) -> int:
        return int(self.keys.shape[0])

    @property
    def memory_bytes(self) -> int:
        in_memory = 0 if self.shelf.mapping is not None else self.shelf.nbytes
        return (self.tables.nbytes + self.keys.nbytes + self.alive.nbytes
                + self._order.nbytes + self._sorted.nbytes + self.shelf.offsets.nbytes
                + in_memory)

    def slot_of(self, key: int) -> int | None:
        at = int(np.searchsorted(self._sorted, key))
        if at == self._sorted.shape[0] or self._sorted[at] != key:
            return None
        slot = int(self._order[at])
        return slot if self.alive[slot] else None

    def withdraw(self, keys: np.ndarray) -> bool:
        if not self.slots:
            return False
        hit = np.isin(self.keys, keys) & self.alive
        if not hit.any():
            return False
        self.alive[hit] = False
        self.live -= int(hit.sum())
        return True

    def needs_compacting(self) -> bool:
        """Withdrawn photos still take votes; past a quarter of the tables they are
        dropped by a rebuild."""
        return self.slots - self.live > max(DELTA_MIN, self.slots // 4)

    def live_part(self) -> tuple[np.ndarray, Shelf]:
        rows = np.flatnonzero(self.alive)
        if rows.shape[0] == self.slots:
            return self.keys, self.shelf
        return self.keys[rows], self.shelf.take(rows)
