"""What a search returns: one bank entry within the threshold of one query."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hit:
    """A bank entry within the threshold of a query.

    ``variant`` is the position, in the variants passed to ``match_dihedral``, of the
    query hash that came closest (0 for a plain search: the hash as given).
    ``value`` (the entry's hash) is decoded only when the search asks for values:
    most callers identify matches by entry id and must not see banked hashes.
    """

    entry_id: int
    bank: str
    category: str
    distance: int
    variant: int = 0
    value: str | None = None
