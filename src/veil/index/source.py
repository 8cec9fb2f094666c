"""What an index is built from: any object that streams active entries and a watermark.

``veil.store.Store`` is one; tests and benchmarks pass plain lists. Keeping the index
on this protocol (not on the store module) lets it be built, snapshotted and tested
without a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

#: ``(entry_id, bank, category, value, quality)``; ``value`` is normalised hex.
#: ``quality`` is carried for callers' policies; the index does not filter on it
#: (a low-quality victim submission is still a victim's image).
EntryRow = tuple[int, str, str, str, "int | None"]


@runtime_checkable
class IndexSource(Protocol):
    def iter_active(self, signal: str) -> Iterable[EntryRow]:
        """Every active entry of one signal type, across banks, in any order."""
        ...

    def watermark(self) -> int:
        """A number that changes with every add or withdrawal in any bank.

        Read it *before* ``iter_active``: a change landing during the read then shows
        as a newer watermark (a needless rebuild), never as a missed entry.
        """
        ...

    def identity(self) -> str | None:
        """Which store this is (``None``: none to tell). A snapshot written at an
        older watermark is caught up through the change feed only when it records
        the same identity; without one it is rebuilt."""
        ...
