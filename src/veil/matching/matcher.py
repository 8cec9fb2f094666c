"""``BankMatcher``: every bank as one matcher, an exact index per signal type.

It is loaded once (``load``: snapshots where current, else the store), answers
searches and verdicts with the thresholds of the settings it was given, and keeps
itself current with ``catch_up``, which applies the store's change feed.

Catching up: every index records the store watermark it reflects. The store stamps
each entry a transaction changes with that transaction's generation, and
generations commit in order (``veil.store.models.StoreState``). So: read the store's
watermark G, take every entry stamped in (W, G] as it is now (active: added or
replaced; disputed, disabled or withdrawn: removed), reload the bank policies and
the active flood quarantines if anything changed (a few rows: quarantining takes a
generation like any bank change), and record G. It is idempotent: a change seen
twice (the service's own, then through the poller) does no harm. A withdrawal seen
in the feed also deletes the signal's index snapshot: the store that erased the hash
deleted the snapshot of its own ``$VEIL_HOME``, not of this process's when that is
elsewhere.

Thresholds: a search runs at the query's threshold (the caller's, else the
configured one), widened to the widest bank threshold of that signal type (each
clamped to the service's cap, ``Settings.threshold_cap``), and each hit counts only
within its own bank's threshold (or the query's, for banks that set none). A caller
who tightens the threshold tightens every bank's too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, cast

from veil.config import Settings, snapshot_path
from veil.errors import BadInput, StoreError
from veil.index import HammingIndex, Hit, drop_unless_newer, save_if_current
from veil.matching.loading import (
    LoadedBank,
    MatchSource,
    load_banks,
    load_indexes,
    load_quarantines,
)
from veil.matching.regions import RegionSet, RegionSource
from veil.matching.video import (
    VPDQ,
    VideoRule,
    VideoSource,
    match_frames_to_pictures,
    match_video,
)
from veil.media.video import ANIMATIONS
from veil.regions.features import QUERY as REGION_QUERY
from veil.regions.features import QUERY_MIRRORED as REGION_QUERY_MIRRORED
from veil.regions.sealing import load_region_sealer
from veil.signals import SignalType, all_types, check_settings, get
from veil.signals.batch import FileSignals
from veil.signals.vpdq import VideoFrame
from veil.verdict import NO_QUARANTINES, Match, Note, Quarantines, Verdict, decide

if TYPE_CHECKING:
    from veil.store.records import EntryChange

#: Changes applied per step: bounds memory when the feed carries a whole import.
FEED_CHUNK = 65_536
#: A snapshot caught up through the feed at load is rewritten once the rows replayed
#: reach this share of those it held.
SNAPSHOT_REWRITE_SHARE = 0.1


@dataclass(frozen=True)
class CatchUp:
    watermark: int
    added: int = 0
    removed: int = 0
    banks_reloaded: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.banks_reloaded)


class BankMatcher:
    def __init__(self, indexes: dict[str, HammingIndex], banks: dict[str, LoadedBank],
                 settings: Settings, *, banks_watermark: int = 0,
                 quarantines: Quarantines = NO_QUARANTINES,
                 videos: VideoSource | None = None, regions: RegionSet | None = None) -> None:
        check_settings(settings)
        self.indexes = indexes
        self.banks = banks
        self.settings = settings
        self.quarantines = quarantines
        #: Where banked videos' frames are looked up (None: each vpdq entry is a
        #: one-frame video).
        self.videos = videos
        #: The store watermark ``banks`` reflects (each index records its own).
        self.banks_watermark = banks_watermark
        #: Banked photos' region signals (None: the source keeps none).
        self.regions = regions

    @classmethod
    def load(cls, settings: Settings, source: MatchSource, *, snapshots: bool = True,
             signals: Sequence[str] | None = None, mapped: bool = False) -> BankMatcher:
        """Every signal's index (or only ``signals``'), from its snapshot when current,
        else from ``source`` (the store), writing a snapshot where the index is at least
        ``settings.index_snapshot_min_entries``. ``mapped``: snapshots are mapped,
        shared with the other processes mapping them (``veil.matching.shared``)."""
        mark = source.watermark()  # before reading, as for the indexes
        banks = load_banks(source)
        quarantines = load_quarantines(source)
        indexes = load_indexes(settings, source, signals=signals, snapshots=snapshots,
                               mapped=mapped)
        videos = cast(VideoSource, source) if hasattr(source, "frame_links") else None
        regions = None
        if hasattr(source, "iter_sealed_regions") and (signals is None or "region" in signals):
            regions = RegionSet.load(cast(RegionSource, source),
                                     lambda: load_region_sealer(settings),
                                     candidates=settings.regions.candidates, watermark=mark,
                                     categories=settings.regions.categories)
        matcher = cls(indexes, banks, settings, banks_watermark=mark, quarantines=quarantines,
                      videos=videos, regions=regions)
        behind = {n: i.stats().rows for n, i in indexes.items() if i.watermark < mark}
        if behind:
            # a snapshot from this store, older than it: the change feed, not a rebuild
            matcher.catch_up(source)
            for n, rows in behind.items():
                index = indexes[n]
                replayed = index.stats().rows - rows
                # rewritten once the replay is worth a compaction, so restarts do not
                # replay an ever longer feed (nor compact 100M rows for a few changes);
                # a mapped one by ``shared.refresh``, which maps what it writes
                if snapshots and not mapped and replayed >= max(
                        settings.index_snapshot_min_entries, rows * SNAPSHOT_REWRITE_SHARE):
                    save_if_current(index, source, snapshot_path(settings.home, n),
                                    min_entries=settings.index_snapshot_min_entries)
        return matcher

    # -- what is loaded ------------------------------------------------------------------
    def scan_names(self) -> tuple[str, ...]:
        """Signals a scan computes: the types every scan reports, and those some bank
        holds."""
        hashes = tuple(t.name for t in all_types()
                       if t.always_scanned or len(self.indexes.get(t.name, ())))
        # an upload's region features only where some photo is banked with a region
        return (*hashes, REGION_QUERY) if self.regions else hashes

    def sizes(self) -> dict[str, int]:
        sizes = {n: len(i) for n, i in self.indexes.items()}
        if self.regions is not None:
            sizes["region"] = len(self.regions)
        return sizes

    def __len__(self) -> int:
        return sum(self.sizes().values())

    def describe(self) -> str:
        loaded = [f"{size:,} {n}" for n, size in self.sizes().items() if size]
        return ", ".join(loaded) if loaded else "no active entries"

    def bank_names(self) -> list[str]:
        return sorted(self.banks)

    # -- matching -----------------------------------------------------------------------
    def threshold(self, signal: str | SignalType, override: int | None = None) -> int:
        """The threshold to search ``signal`` at: ``override`` if given (checked against
        the type's maximum), else the configured one."""
        st = get(signal) if isinstance(signal, str) else signal
        if override is None:
            return self.settings.threshold(st)
        if isinstance(override, bool) or not 0 <= override <= st.max_threshold:
            raise BadInput(f"{st.name} threshold must be between 0 and {st.max_threshold}, "
                           f"got {override}", code="input.bad_threshold")
        return override

    def bank_thresholds(self, st: SignalType,
                        override: int | None = None) -> tuple[int, dict[str, int]]:
        """The query's threshold for ``st`` and each bank's that sets its own: clamped to
        the service's cap (a bank cannot widen what platforms' answers show), and to
        ``override`` when the caller gave one (a caller may always tighten)."""
        base = self.threshold(st, override)
        cap = self.settings.threshold_cap(st)
        per_bank: dict[str, int] = {}
        for name, bank in self.banks.items():
            t = bank.policy.thresholds.get(st.name)
            if t is not None:
                per_bank[name] = min(t, cap) if override is None else min(t, cap, base)
        return base, per_bank

    def _as_matches(self, st: SignalType, hits: list[Hit], base: int,
                    per_bank: dict[str, int]) -> list[Match]:
        out = []
        for h in hits:
            t = per_bank.get(h.bank, base)
            if h.distance <= t:
                out.append(Match(
                    signal=st.name, entry_id=h.entry_id, bank=h.bank, category=h.category,
                    distance=h.distance, threshold=t,
                    variant=st.variant(h.variant).key if st.variants and h.variant else None,
                    value=h.value))
        return out

    def search(self, signal: str, values: Sequence[str], threshold: int | None = None, *,
               with_values: bool = False) -> list[list[Match]]:
        """Each value's matches (closest first), in one batched index search."""
        st = get(signal)
        base, per_bank = self.bank_thresholds(st, threshold)
        widest = max([base, *per_bank.values()])
        idx = self.indexes.get(st.name)
        if idx is None or not len(idx):
            return [[] for _ in values]
        return [self._as_matches(st, hits, base, per_bank)
                for hits in idx.search(list(values), widest, values=with_values)]

    def search_variants(self, signal: str, groups: Sequence[Sequence[str]],
                        threshold: int | None = None, *,
                        with_values: bool = False) -> list[list[Match]]:
        """For each group of variant hashes (``SignalType.variants`` order), the entries
        within the threshold of any, each once at its closest variant."""
        st = get(signal)
        if not st.variants:
            raise BadInput(f"{st.name} has no rotated or mirrored variants")
        base, per_bank = self.bank_thresholds(st, threshold)
        widest = max([base, *per_bank.values()])
        for i, g in enumerate(groups):
            if len(g) != len(st.variants):
                raise BadInput(f"query {i}: {st.name} takes {len(st.variants)} variant hashes "
                               f"({', '.join(v.key for v in st.variants)}), got {len(g)}")
        idx = self.indexes.get(st.name)
        if idx is None or not len(idx):
            return [[] for _ in groups]
        return [self._as_matches(st, hits, base, per_bank)
                for hits in idx.search_dihedral(list(groups), widest, values=with_values)]

    def verdict(self, file: FileSignals,
                thresholds: Mapping[str, int] | None = None) -> Verdict:
        """Match every signal of ``file`` (its variants too, where computed) and decide.

        ``thresholds``: per-signal overrides of the configured thresholds. A signal
        below its type's quality floor is not matched, and the verdict says why.
        """
        found: list[Match] = []
        notes: list[Note] = []
        if file.video is not None:
            found += self._video(file.video.frames, thresholds, notes)
            if file.format not in ANIMATIONS:  # an animation's still signals cover it
                pdq = get("pdq")
                found += match_frames_to_pictures(
                    self.indexes.get(pdq.name), file.video.frames,
                    self.threshold(pdq, (thresholds or {}).get(pdq.name)),
                    self.settings.quality_floor(pdq) or 0)
        query = file.features.get(REGION_QUERY)
        if query is not None and self.regions:
            found += self.regions.search(query, file.features.get(REGION_QUERY_MIRRORED))
        for s in file.signals:
            st = get(s.type)
            if st.name == VPDQ:
                # a still is a one-frame video to the vPDQ rule
                found += self._video([VideoFrame(0, s.quality or 0, s.value, 0.0)],
                                     thresholds, notes)
                continue
            floor = self.settings.quality_floor(st)
            if floor is not None and s.quality is not None and s.quality < floor:
                notes.append(Note(signal=st.name, quality=s.quality, floor=floor))
                continue
            override = (thresholds or {}).get(st.name)
            variants = file.variants.get(st.name)
            if variants:
                found += self.search_variants(st.name, [variants], override)[0]
            else:
                found += self.search(st.name, [s.value], override)[0]
        return self.decide(found).noting(notes)

    def _video(self, frames: Sequence[VideoFrame], thresholds: Mapping[str, int] | None,
               notes: list[Note]) -> list[Match]:
        st = get(VPDQ)
        floor = self.settings.quality_floor(st) or 0
        if not any(f.quality >= floor for f in frames):
            if frames and len(self.indexes.get(VPDQ, ())):
                notes.append(Note(signal=VPDQ, quality=max(f.quality for f in frames),
                                  floor=floor))
            return []
        limits = self.settings.media.video
        step = max(limits.seconds_per_hash, 0.04)
        rule = VideoRule(self.threshold(st, (thresholds or {}).get(VPDQ)),
                         limits.query_match_percent, limits.candidate_match_percent,
                         range_gap=2 * step)
        return match_video(self.indexes.get(VPDQ), self.videos, frames, rule, floor,
                           {n: b.policy for n, b in self.banks.items()})

    def decide(self, matches: Iterable[Match]) -> Verdict:
        return decide(matches, {n: b.policy for n, b in self.banks.items()}, self.quarantines)

    # -- keeping current ----------------------------------------------------------------
    def catch_up(self, source: MatchSource) -> CatchUp:
        """Apply every change ``source`` committed since this matcher was last current."""
        upto = source.watermark()
        added = removed = 0
        for signal, index in self.indexes.items():
            after = index.watermark
            if after > upto:
                # the database went back (restored from a backup, or swapped): entries
                # the index holds may no longer exist, and the feed cannot say which
                raise StoreError(f"the {signal} index is at store generation {after} but the "
                                 f"store is at {upto}; restart the service to rebuild it",
                                 code="index.ahead_of_store")
            if after == upto:
                continue
            a, r, withdrawn = apply_changes(index, source.changes(signal, after=after, upto=upto))
            added, removed = added + a, removed + r
            index.watermark = upto
            if withdrawn:
                drop_unless_newer(snapshot_path(self.settings.home, signal), withdrawn)
        if self.regions is not None:
            if self.regions.watermark > upto:
                raise StoreError(f"the region signals are at store generation "
                                 f"{self.regions.watermark} but the store is at {upto}; "
                                 "restart the service to rebuild them",
                                 code="index.ahead_of_store")
            a, r = self.regions.catch_up(cast(RegionSource, source), upto)
            added, removed = added + a, removed + r
        reloaded = self.banks_watermark < upto
        if reloaded:
            self.banks = load_banks(source)
            self.quarantines = load_quarantines(source)
            self.banks_watermark = upto
        return CatchUp(upto, added, removed, reloaded)


def apply_changes(index: HammingIndex, changes: Iterable[EntryChange]
                  ) -> tuple[int, int, int]:
    """(added, removed, the latest generation of a withdrawal that removed an entry
    the index held, or 0), ``FEED_CHUNK`` changes a step. A snapshot written before
    that generation may hold the withdrawn hash; a withdrawal of an entry the index
    no longer held (disabled or disputed before) says nothing about it."""
    added = removed = 0
    withdrawn = 0
    it = iter(changes)
    while chunk := list(islice(it, FEED_CHUNK)):
        gone = [c for c in chunk if c.withdrawn]
        held = index.withdraw_many(c.entry_id for c in gone) if gone else 0
        if held:  # the chunk's latest: at worst a clean file is written again
            withdrawn = max(withdrawn, *(c.generation for c in gone))
        removed += held
        kills = [c.entry_id for c in chunk if not c.active and not c.withdrawn]
        removed += index.withdraw_many(kills) if kills else 0
        adds = [c.as_active() for c in chunk if c.active]
        added += index.add_many(adds) if adds else 0
    return added, removed, withdrawn
