"""The one way the banks become indexes: ``veil scan``, ``veil match`` and ``veil serve``
all load through ``load_indexes``.

Each signal's index comes from its snapshot in ``$VEIL_HOME/index`` when that is
sound and current, otherwise from the store; it is then written back as a snapshot
only when it holds at least ``index_snapshot_min_entries`` entries (a small index
rebuilds faster than a snapshot is checked, and needs no file on disk).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from veil.config import Settings, snapshot_path
from veil.index import HammingIndex, IndexSource, open_index
from veil.signals import get, names
from veil.verdict import BankPolicy, Quarantines, policy_of

if TYPE_CHECKING:
    from veil.store.records import BankInfo, EntryChange, QuarantineRecord


@dataclass(frozen=True)
class LoadedBank:
    """What a matcher needs of a bank: its category and policy."""

    category: str
    policy: BankPolicy = field(default_factory=BankPolicy)


class MatchSource(IndexSource, Protocol):
    """What a matcher is loaded from and kept current with (``veil.store.Store``)."""

    def list_banks(self, *, counts: bool = True) -> Sequence[BankInfo]: ...

    def changes(self, signal: str, *, after: int, upto: int) -> Iterable[EntryChange]: ...

    def active_quarantines(self) -> Sequence[QuarantineRecord]: ...


def load_indexes(settings: Settings, source: IndexSource, *,
                 signals: Sequence[str] | None = None,
                 snapshots: bool = True, mapped: bool = False) -> dict[str, HammingIndex]:
    """The index of every registered signal type (or of ``signals``); ``mapped``:
    snapshots mapped, not copied (``veil.index.snapshot``)."""
    wanted = [get(n).name for n in signals] if signals is not None else names()
    return {
        n: open_index(n, source,
                      snapshot=snapshot_path(settings.home, n) if snapshots else None,
                      save_min_entries=settings.index_snapshot_min_entries, mapped=mapped)
        for n in wanted
    }


def load_banks(source: MatchSource) -> dict[str, LoadedBank]:
    # no entry counts: the matcher needs none, and they cost a scan of every entry
    return {b.name: LoadedBank(b.category, policy_of(b.policy))
            for b in source.list_banks(counts=False)}


def load_quarantines(source: MatchSource) -> Quarantines:
    found = source.active_quarantines()
    return Quarantines(banks=frozenset(q.bank for q in found if q.kind == "bank"),
                       entries=frozenset(q.entry_id for q in found
                                         if q.kind == "entry" and q.entry_id is not None))
