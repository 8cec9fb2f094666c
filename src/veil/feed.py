"""Keeping a loaded ``BankMatcher`` current with what any process commits.

Every index of a matcher records the store watermark it reflects. The store stamps
each entry a transaction changes with that transaction's generation, and
generations commit in order (``veil.store.models.StoreState``). Catching up is
therefore: read the store's watermark G, take every entry stamped in (W, G] as it
is now (active: added or replaced; disputed or withdrawn: removed), reload the
bank policies if anything changed, and record G. It is idempotent, so a change
seen twice (the service's own, then through the poller) does no harm.

A withdrawal also deletes the signal's index snapshot: the file would otherwise
keep the withdrawn victim's hash on disk until the next rebuild rewrote it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from veil.errors import StoreError
from veil.index.factory import snapshot_path
from veil.index.hamming import HammingIndex
from veil.matching import BankMatcher, BankPolicy
from veil.store import Store
from veil.store.records import EntryChange

log = logging.getLogger(__name__)

#: Changes applied per step: bounds memory when the feed carries a whole import.
FEED_CHUNK = 65_536


@dataclass(frozen=True)
class CatchUp:
    watermark: int
    added: int = 0
    removed: int = 0
    banks_reloaded: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.banks_reloaded)


def catch_up(matcher: BankMatcher, store: Store, *, home: Path | None = None) -> CatchUp:
    """Apply every change committed since ``matcher`` was last current; ``home``:
    where index snapshots live (withdrawals delete them)."""
    upto = store.watermark()
    added = removed = 0
    for signal, index in matcher.indexes.items():
        after = index.watermark
        if after > upto:
            # the database went back (restored from a backup, or swapped): entries the
            # index holds may no longer exist, and the feed cannot say which
            raise StoreError(f"the {signal} index is at store generation {after} but the "
                             f"store is at {upto}; restart the service to rebuild it",
                             code="index.ahead_of_store")
        if after == upto:
            continue
        a, r, withdrawn = _apply(index, store.changes(signal, after=after, upto=upto))
        added, removed = added + a, removed + r
        index.watermark = upto
        if withdrawn and home is not None:
            snapshot_path(home, signal).unlink(missing_ok=True)
    reloaded = matcher.banks_watermark < upto
    if reloaded:
        matcher.banks = {b.name: BankPolicy(b.category, dict(b.policy))
                         for b in store.list_banks()}
        matcher.banks_watermark = upto
    return CatchUp(upto, added, removed, reloaded)


def _apply(index: HammingIndex, changes: Iterable[EntryChange]) -> tuple[int, int, bool]:
    """(added, removed, whether any was a withdrawal), ``FEED_CHUNK`` changes a step."""
    added = removed = 0
    withdrawn = False
    it = iter(changes)
    while chunk := list(islice(it, FEED_CHUNK)):
        kills = [c.entry_id for c in chunk if not c.active]
        withdrawn |= any(c.withdrawn for c in chunk)
        removed += index.withdraw_many(kills) if kills else 0
        adds = [c.as_active() for c in chunk if c.active]
        added += index.add_many(adds) if adds else 0
    return added, removed, withdrawn
