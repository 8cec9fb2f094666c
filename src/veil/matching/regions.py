"""The banked photos' region signals as one searchable set, kept current like the
hash indexes (docs/derived.md).

A region signal belongs to a ``pdq`` entry (``veil.store.regions``): it is loaded
opened (``RegionSealer``) into a ``RegionIndex`` keyed by entry id, and follows the
``pdq`` change feed: an entry no longer active leaves the index, an active one
changed since the index's watermark is (re)read with its region signal, if it has
one. An upload's region features (``FileSignals.features``) are searched for a few
candidates, each verified geometrically; a verified one is a ``Match`` of signal
``region`` whose ``distance`` is the banked keypoints that did not agree, so that,
as for hashes, smaller is closer and ``threshold`` is the most that may fail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from veil.errors import BadInput
from veil.matching.readwrite import ReadWriteLock
from veil.regions.compare import MIN_INLIERS, Box, RegionMatch
from veil.regions.features import Features
from veil.regions.sealing import RegionSealer
from veil.sealing import SealBroken
from veil.verdict import Match, RegionBox, RegionEvidence

if TYPE_CHECKING:
    from veil.regions.index import RegionIndex
    from veil.store.records import EntryChange
    from veil.store.regions import SealedRegion

log = logging.getLogger("veil.matching")

#: The signal name region matches carry (what a bank keeps, ``veil.regions.features``).
REGION = "region"
#: The entries region signals belong to.
PDQ = "pdq"
#: A match found in the upload's mirror image (the name PDQ's variant has).
MIRRORED = "mirrored_left_right"


class RegionSource(Protocol):
    """What the region set is loaded from and kept current with (``Store``)."""

    def iter_sealed_regions(self) -> Iterable[Sequence[SealedRegion]]: ...

    def sealed_regions(self, entry_ids: Iterable[int]) -> Sequence[SealedRegion]: ...

    def changes(self, signal: str, *, after: int, upto: int) -> Iterable[EntryChange]: ...


class RegionSet:
    """Every active banked photo's region signal, searchable."""

    def __init__(self, opener: Callable[[], RegionSealer], *, candidates: int,
                 categories: Iterable[str]) -> None:
        # the key is read (or made) only when a region signal is: a store without
        # any needs no key file
        self._opener = opener
        self._sealer: RegionSealer | None = None
        self.candidates = candidates
        #: Bank categories that keep region signals: only their entries' changes are
        #: looked up (a bulk import into another bank costs no region query).
        self.categories = frozenset(categories)
        self._index: RegionIndex | None = None
        #: entry id → (bank, category, keypoints banked)
        self.entries: dict[int, tuple[str, str, int]] = {}
        #: The store generation this set reflects.
        self.watermark = 0
        #: Entries whose region signal did not open (docs/deploy.md: a key not shared).
        self.unreadable: set[int] = set()
        #: Searches share the index; changes (the catch-up) have it alone.
        self._lock = ReadWriteLock()

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def index(self) -> RegionIndex:
        """The searchable index, made when the first region signal is added: a matcher
        of banks that keep none never loads its compiled loops (importing numba is
        about a fifth of a second of ``veil scan``'s start)."""
        if self._index is None:
            from veil.regions.index import RegionIndex

            self._index = RegionIndex()
        return self._index

    @classmethod
    def load(cls, source: RegionSource, opener: Callable[[], RegionSealer], *,
             candidates: int, watermark: int, categories: Iterable[str]) -> RegionSet:
        """Every active region signal of ``source``, as of ``watermark`` (read before)."""
        regions = cls(opener, candidates=candidates, categories=categories)
        for page in source.iter_sealed_regions():
            regions._add(page)
        regions.watermark = watermark
        return regions

    def _add(self, rows: Sequence[SealedRegion]) -> int:
        with self._lock.writing():
            return self._add_unlocked(rows)

    def _add_unlocked(self, rows: Sequence[SealedRegion]) -> int:
        if not rows:
            return 0
        if self._sealer is None:
            self._sealer = self._opener()
        keys, found = [], []
        for row in rows:
            if row.category not in self.categories:
                continue  # VEIL_REGIONS_CATEGORIES no longer lists its bank's category
            try:
                features = self._sealer.open_features(row.entry_id, row.sealed)
            except (SealBroken, BadInput) as exc:
                # another node's key (VEIL_REGIONS_KEY not shared) or a damaged row:
                # that photo's edited copies go unfound, every other still matches
                self.unreadable.add(row.entry_id)
                log.error("region signal of entry %s skipped: %s", row.entry_id, exc)
                continue
            self.unreadable.discard(row.entry_id)
            self._remove_unlocked(row.entry_id)
            self.entries[row.entry_id] = (row.bank, row.category, len(features))
            keys.append(row.entry_id)
            found.append(features)
        if keys:
            self.index.add_many(keys, found)
        return len(keys)

    def remove(self, entry_id: int) -> bool:
        with self._lock.writing():
            return self._remove_unlocked(entry_id)

    def _remove_unlocked(self, entry_id: int) -> bool:
        self.unreadable.discard(entry_id)
        if self.entries.pop(entry_id, None) is None:
            return False
        self.index.remove(entry_id)
        return True

    def catch_up(self, source: RegionSource, upto: int) -> tuple[int, int]:
        """Apply the ``pdq`` changes in (watermark, upto]: (added, removed)."""
        if self.watermark >= upto:
            return 0, 0
        gone: list[int] = []
        changed: list[int] = []
        for c in source.changes(PDQ, after=self.watermark, upto=upto):
            if c.active and c.category in self.categories:
                changed.append(c.entry_id)
            elif not c.active:
                gone.append(c.entry_id)
        # read from the store first: searches wait only for the index's own change
        rows = source.sealed_regions(changed) if changed else ()
        with self._lock.writing():
            removed = sum(self._remove_unlocked(e) for e in gone)
            added = self._add_unlocked(rows)
        self.watermark = upto
        return added, removed

    def search(self, query: Features, mirrored: Features | None = None) -> list[Match]:
        """The banked photos verified in the upload (and, given the mirrored upload's
        features, in its mirror image), as matches, each banked photo once."""
        with self._lock.reading():
            return self._search(query, mirrored)

    def _search(self, query: Features, mirrored: Features | None) -> list[Match]:
        best: dict[int, Match] = {}
        for features, flipped in ((query, False), (mirrored, True)):
            if features is None or not self.entries or len(features) == 0:
                continue
            for entry_id, found in self.index.search(features, limit=self.candidates):
                bank, category, points = self.entries[entry_id]
                m = Match(signal=REGION, entry_id=entry_id, bank=bank, category=category,
                          distance=max(0, points - found.inliers),
                          threshold=max(0, points - MIN_INLIERS),
                          variant=MIRRORED if flipped else None,
                          region=evidence(found, features, flipped=flipped))
                if entry_id not in best or m.distance < best[entry_id].distance:
                    best[entry_id] = m
        return sorted(best.values(), key=lambda m: m.distance)


def evidence(found: RegionMatch, query: Features, *, flipped: bool = False) -> RegionEvidence:
    """A verified pairing as the verdict reports it; ``flipped``: ``query`` is the
    upload mirrored, and its boxes are mirrored back into the upload's pixels."""
    qw, qh = query.work_size
    width, height = round(qw * query.scale), round(qh * query.scale)

    def box(b: Box) -> RegionBox:
        return RegionBox(x=width - b.x - b.w if flipped else b.x, y=b.y, w=b.w, h=b.h)

    return RegionEvidence(
        kind="derived" if found.kind == "derived" else "copy", score=round(found.score, 3),
        points=found.inliers, agreeing=box(found.agreeing),
        differing=None if found.differing is None else box(found.differing),
        agree_share=round(found.agree_share, 3), differ_share=round(found.differ_share, 3),
        width=width, height=height)
