"""What a search returns: one bank entry within the threshold of one query."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Match:
    """A bank entry within the threshold of a query.

    ``variant`` is the position, in the variants passed to ``match_dihedral``, of the
    query hash that came closest (0 for a plain search: the hash as given).
    """

    entry_id: int
    bank: str
    category: str
    value: str
    distance: int
    variant: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"entry_id": self.entry_id, "bank": self.bank, "category": self.category,
                "value": self.value, "distance": self.distance, "variant": self.variant}
