"""Region signals of banked photos: a sealed blob per ``pdq`` entry (``RegionSignal``).
Mixed into ``Store``.

The store keeps them sealed and never opens them: sealing and opening need the
region key, which the caller holds (``veil.regions.sealing``), so a copy of the
database alone holds nothing usable. A region signal follows its entry: attaching
one touches the entry, so the change feed carries it to every live index, and it is
matched only while the entry is active. Erasing the entry's hash (a withdrawal)
deletes it (a trigger, migration 0010).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from sqlalchemy import func, select

from veil.store.coltypes import utcnow
from veil.store.models import Bank, Entry, RegionSignal
from veil.store.transactions import StoreBase, check_actor, database_errors
from veil.store.vocabulary import EntryStatus

#: The signal type region signals belong to.
PDQ = "pdq"
#: Entry ids per ``IN (...)`` query: below every database's bound-parameter limit.
_IN_CHUNK = 500
#: Rows per page when a matcher loads every region signal.
_PAGE = 2_000


class SealedRegion(NamedTuple):
    entry_id: int
    bank: str
    category: str
    sealed: bytes

_SEALED = (select(RegionSignal.entry_id, Bank.name, Bank.category, RegionSignal.sealed)
           .join(Entry, Entry.id == RegionSignal.entry_id)
           .join(Bank, Bank.id == Entry.bank_id))


class Regions(StoreBase):
    @database_errors
    def attach_regions(self, items: Iterable[tuple[int, bytes, int]], *, actor: str) -> int:
        """Attach ``(entry_id, sealed blob, keypoints)`` to active ``pdq`` entries; an
        entry that has one keeps it (the same photo banked again). Returns how many
        were attached."""
        actor = check_actor(actor)
        wanted = {entry_id: (sealed, points) for entry_id, sealed, points in items}
        if not wanted:
            return 0
        attached = 0
        with self._writing() as s:
            ids = sorted(wanted)
            for i in range(0, len(ids), _IN_CHUNK):
                chunk = ids[i:i + _IN_CHUNK]
                have = set(s.scalars(select(RegionSignal.entry_id)
                                     .where(RegionSignal.entry_id.in_(chunk))))
                for e in s.scalars(select(Entry).where(
                        Entry.id.in_(chunk), Entry.signal == PDQ,
                        Entry.status == EntryStatus.ACTIVE.value, Entry.value.is_not(None))):
                    if e.id in have:
                        continue
                    sealed, points = wanted[e.id]
                    s.add(RegionSignal(entry_id=e.id, sealed=sealed, points=points,
                                       created_by=actor, created_at=utcnow()))
                    # touched, so the change feed carries the new signal to live indexes
                    e.updated_at = utcnow()
                    attached += 1
            if attached:
                self._audit(s, actor, "region.attach", count=attached)
        return attached

    @database_errors
    def pdq_entry_id(self, bank: str, value: str) -> int | None:
        """The active ``pdq`` entry of ``bank`` holding ``value`` (what a region signal
        is attached to), or None."""
        with self._reading() as s:
            return s.scalar(select(Entry.id).join(Bank, Bank.id == Entry.bank_id).where(
                Bank.name == bank, Entry.signal == PDQ, Entry.value == value,
                Entry.status == EntryStatus.ACTIVE.value))

    @database_errors
    def sealed_regions(self, entry_ids: Iterable[int]) -> list[SealedRegion]:
        """The region signals of those of ``entry_ids`` that are active ``pdq``
        entries."""
        ids = sorted(set(entry_ids))
        out: list[SealedRegion] = []
        with self._reading() as s:
            for i in range(0, len(ids), _IN_CHUNK):
                out += [SealedRegion(*row) for row in s.execute(
                    _SEALED.where(RegionSignal.entry_id.in_(ids[i:i + _IN_CHUNK]),
                           Entry.status == EntryStatus.ACTIVE.value))]
        return out

    def iter_sealed_regions(self) -> Iterator[Sequence[SealedRegion]]:
        """Every active entry's region signal, in pages of ids (what a matcher loads)."""
        after = 0
        while True:
            page = self._region_page(after)
            if not page:
                return
            yield page
            after = page[-1].entry_id

    @database_errors
    def _region_page(self, after: int) -> list[SealedRegion]:
        with self._reading() as s:
            return [SealedRegion(*row) for row in s.execute(
                _SEALED.where(RegionSignal.entry_id > after,
                       Entry.status == EntryStatus.ACTIVE.value)
                .order_by(RegionSignal.entry_id).limit(_PAGE))]

    @database_errors
    def region_count(self, bank_id: int | None = None) -> int:
        with self._reading() as s:
            q = select(func.count()).select_from(RegionSignal).join(
                Entry, Entry.id == RegionSignal.entry_id)
            if bank_id is not None:
                q = q.where(Entry.bank_id == bank_id)
            return int(s.scalar(q) or 0)
