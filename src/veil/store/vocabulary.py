"""The closed sets of words the store accepts: bank categories, actions, entry statuses."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """What a bank holds; the verdict derives a default action from it."""

    VICTIM_SUBMITTED = "victim_submitted"
    CONFIRMED_NCII = "confirmed_ncii"
    SYNTHETIC_NCII = "synthetic_ncii"
    PROTECTED_PHOTO = "protected_photo"
    IMPORTED = "imported"
    ALLOWLIST = "allowlist"


class Action(StrEnum):
    """What a match in a bank does, when its policy says so explicitly."""

    BLOCK = "block"
    REVIEW = "review"
    ALLOW = "allow"


class EntryStatus(StrEnum):
    ACTIVE = "active"
    #: The victim took the hash back: the value is cleared, the row stays for the audit.
    WITHDRAWN = "withdrawn"
    #: Someone contests the entry; it is not matched until a person decides.
    DISPUTED = "disputed"
    #: An admin turned a false positive off: it does not match, its hash stays (for the
    #: audit and the list's owner); it can be enabled again.
    DISABLED = "disabled"


class QuarantineKind(StrEnum):
    """What flood protection quarantined (``veil.matching.flood``)."""

    BANK = "bank"
    ENTRY = "entry"


class QuarantineStatus(StrEnum):
    ACTIVE = "active"
    #: An admin found nothing wrong: its matches count as before.
    RELEASED = "released"
    #: An admin agreed: the entry or bank was disabled.
    CONFIRMED = "confirmed"


class FeedbackStatus(StrEnum):
    """A note to an entry's source list (``SourceFeedback``), for an exchange to send."""

    PENDING = "pending"
    #: The entry was enabled again before the note was sent.
    RETRACTED = "retracted"
    SENT = "sent"


def from_a_list(category: str, source: str | None) -> bool:
    """Whether an entry came from someone else's list (whose owner should hear that it
    was a false positive): anything in an imported bank, or with a source other than
    a victim's own submission."""
    return category == Category.IMPORTED or (source is not None and source != "intake")



#: What an API key may be allowed to do (``veil.api.auth``).
SCOPES = ("intake", "platform", "review", "admin", "exchange")


class Format(StrEnum):
    """Hash-list file formats (``veil.store.hashlist``)."""

    CSV = "csv"
    JSONL = "jsonl"


def choices(enum: type[StrEnum]) -> str:
    return ", ".join(m.value for m in enum)
