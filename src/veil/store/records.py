"""What the store hands to the rest of Veil: immutable records, never ORM objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from veil.store.rows import RowError
from veil.store.vocabulary import EntryStatus


@dataclass(frozen=True, slots=True)
class BankInfo:
    id: int
    name: str
    category: str
    policy: dict[str, Any]
    created_at: datetime
    created_by: str
    #: Number of entries per status (``active``, ``withdrawn``, ``disputed``), zeros
    #: included; empty when not asked for (``Store.list_banks(counts=False)``).
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def action(self) -> str | None:
        """The action the policy sets explicitly, or None (the category's default applies)."""
        action = self.policy.get("action")
        return action if isinstance(action, str) else None


@dataclass(frozen=True, slots=True)
class EntryRecord:
    id: int
    bank: str
    signal: str
    value: str | None
    quality: int | None
    status: str
    source: str | None
    note: str | None
    case_ref: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class ActiveEntry(NamedTuple):
    """One row of ``Store.iter_active``.

    A named tuple, not a dataclass: indexes are built from millions of these, and
    tuple construction is several times cheaper while just as immutable.
    """

    entry_id: int
    bank: str
    category: str
    value: str
    quality: int | None


class EntryChange(NamedTuple):
    """One row of ``Store.changes``: an entry as it is now. ``status`` other than
    ``active`` means it must not match (withdrawn entries have no value)."""

    entry_id: int
    bank: str
    category: str
    value: str | None
    quality: int | None
    status: str
    #: The store generation of the entry's last change.
    generation: int = 0

    @property
    def active(self) -> bool:
        return self.status == EntryStatus.ACTIVE

    @property
    def withdrawn(self) -> bool:
        return self.status == EntryStatus.WITHDRAWN

    def as_active(self) -> ActiveEntry:
        assert self.value is not None
        return ActiveEntry(self.entry_id, self.bank, self.category, self.value, self.quality)


class EntryKey(NamedTuple):
    """An entry named by what it holds rather than by id."""

    bank: str
    signal: str
    value: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    bank: str | None
    entry_id: int | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """Outcome of one import. Either every valid row is in (``ok``) or nothing is."""

    bank: str
    #: Valid rows read from the input.
    rows: int
    imported: int
    #: Rows skipped because the same (signal, value) was earlier in the input or
    #: already in the bank.
    duplicates: int
    #: The first bad rows (at most the importer's ``max_errors``), in input order.
    errors: tuple[RowError, ...] = ()
    #: All bad rows, including those not kept in ``errors``.
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """A bank or entry flood protection quarantined (``Store.quarantines``)."""

    id: int
    kind: str
    bank: str
    entry_id: int | None
    status: str
    detail: dict[str, Any]
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None

    @property
    def target(self) -> str:
        return f"entry {self.entry_id} in bank '{self.bank}'" if self.kind == "entry" else (
            f"bank '{self.bank}'")


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """A note for an entry's source list (``Store.source_feedback``)."""

    id: int
    entry_id: int
    bank: str
    source: str | None
    kind: str
    status: str
    reason: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
