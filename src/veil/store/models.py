"""ORM models: ``Bank``, ``Entry``, ``AuditEvent``, the one-row ``StoreState``, the
service's ``ApiKey``, ``Case``, ``CaseSignal``, ``EntryHolder`` and ``EntryMatchCount``,
and flood protection's ``Quarantine`` and disabled entries' ``SourceFeedback``.

The schema itself is created by the Alembic migrations in ``migrations/``; these
models must stay in step with them (``tests/store/test_migrations.py`` compares).
Only portable types and constraints here: SQLite today, PostgreSQL later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from veil.store.coltypes import BigId, Json, UTCDateTime, utcnow
from veil.store.vocabulary import (
    Category,
    EntryStatus,
    FeedbackStatus,
    QuarantineKind,
    QuarantineStatus,
)

#: Longest bank name, source, case reference and actor (schema facts, checked on input).
NAME_MAX = 64
SOURCE_MAX = 200
CASE_REF_MAX = 100
ACTOR_MAX = 200
#: Longest free-text note on an entry.
NOTE_MAX = 2000

# Explicit constraint names, so migrations can refer to them on every database.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _one_of(column: str, enum: type[Category] | type[EntryStatus] | type[QuarantineKind]
            | type[QuarantineStatus] | type[FeedbackStatus]) -> str:
    return f"{column} IN ({', '.join(repr(m.value) for m in enum)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Bank(Base):
    __tablename__ = "banks"
    __table_args__ = (CheckConstraint(_one_of("category", Category), name="category"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    category: Mapped[str] = mapped_column(String(32))
    #: e.g. ``{"action": "block"}``; keys the bank does not set fall back to the
    #: category's default in ``veil.verdict``.
    policy: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_by: Mapped[str] = mapped_column(String(ACTOR_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entries: Mapped[list[Entry]] = relationship(back_populates="bank", lazy="raise")


class Entry(Base):
    __tablename__ = "entries"
    __table_args__ = (
        # NULL values (withdrawn entries) are distinct on SQLite and PostgreSQL alike,
        # so any number of withdrawn rows may share a bank and signal.
        UniqueConstraint("bank_id", "signal", "value"),
        Index(None, "signal", "status"),
        # the change feed: "entries of this signal changed after generation W"
        Index(None, "signal", "generation"),
        # the hub's feed (``veil.exchange.feed``): a bank's changes since T, in order
        Index(None, "bank_id", "updated_at", "id"),
        CheckConstraint(_one_of("status", EntryStatus), name="status"),
        CheckConstraint("quality IS NULL OR (quality >= 0 AND quality <= 100)", name="quality"),
        CheckConstraint("value IS NOT NULL OR status = 'withdrawn'", name="value_present"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    signal: Mapped[str] = mapped_column(String(32))
    #: Lowercase hex; NULL once withdrawn (a victim's withdrawal removes the hash).
    value: Mapped[str | None] = mapped_column(String(128))
    quality: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default=EntryStatus.ACTIVE.value)
    source: Mapped[str | None] = mapped_column(String(SOURCE_MAX))
    note: Mapped[str | None] = mapped_column(Text)
    case_ref: Mapped[str | None] = mapped_column(String(CASE_REF_MAX))
    created_by: Mapped[str] = mapped_column(String(ACTOR_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The store generation of the transaction that last changed this row (see
    #: ``StoreState``): what ``Store.changes`` reads to keep live indexes current.
    generation: Mapped[int] = mapped_column(BigInteger, default=0)

    bank: Mapped[Bank] = relationship(back_populates="entries", lazy="raise")


class AuditEvent(Base):
    """Append-only (the migration adds triggers that refuse UPDATE and DELETE).

    Never holds hash values: the entry id is the reference, and a withdrawn
    victim's hash must not survive in the log.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index(None, "bank"), Index(None, "entry_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))
    action: Mapped[str] = mapped_column(String(64))
    #: By name, not foreign key: the record must outlive any later rename or removal.
    bank: Mapped[str | None] = mapped_column(String(NAME_MAX))
    entry_id: Mapped[int | None] = mapped_column(BigId)
    detail: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class StoreState(Base):
    """One row whose ``generation`` goes up in every transaction that changes banks.

    A counter rather than ``max(audit id)``: on PostgreSQL ids are handed out at
    insert time, not commit time, so a smaller id can become visible after a larger
    one and a max would miss it. A writing transaction takes the next generation
    first (locking this row until it commits), so generations commit in order: a
    reader that sees generation G has seen every row stamped G or lower.
    """

    __tablename__ = "store_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Random, set once by migration 0011: index snapshots record it, so one written
    #: from another database (or a restored copy's twin) is never caught up as if it
    #: were this store's.
    identity: Mapped[str] = mapped_column(String(32))


# -- the service (``veil serve``): API keys, victims' cases, match counters ------------
#: Scopes an API key may carry (see docs/api.md).
KEY_NAME_MAX = 100
CASE_STATUSES = ("open", "withdrawn")
CASE_SIGNAL_STATUSES = ("active", "withdrawn")
#: ``EntryHolder.holder`` of the non-case sources: a bulk import (``veil bank import``,
#: ``veil bank add FILE``, the admin import route) and a single add (``veil bank add``
#: of one value, ``Store.add_entry``). A case holds as ``case:<case id>``.
HOLDER_IMPORT = "import"
HOLDER_ADD = "add"
HOLDER_MAX = 64


def case_holder(case_id: str) -> str:
    """The ``EntryHolder.holder`` of a case."""
    return f"case:{case_id}"


def keeps_holders(category: str) -> bool:
    """Whether a bank of ``category`` records its entries' holders: only the banks cases
    reach (victim_submitted). Elsewhere only an admin withdraws an entry, so its bank
    is its one holder and no row is spent on it (imports of millions of rows)."""
    return category == Category.VICTIM_SUBMITTED


class ApiKey(Base):
    """An API key, kept only as the SHA-256 of the key (the key is 256 random bits, so
    a plain hash cannot be reversed by guessing); ``prefix`` lets people tell keys apart."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(KEY_NAME_MAX))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    #: A list of ``SCOPES``.
    scopes: Mapped[list[str]] = mapped_column(Json)
    created_by: Mapped[str] = mapped_column(String(ACTOR_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Case(Base):
    """One victim's submission. The token that lets its holder see and withdraw it is
    kept only as its SHA-256; the id (a UUIDv7) is what entries and the audit name."""

    __tablename__ = "cases"
    __table_args__ = (CheckConstraint(f"status IN {CASE_STATUSES!r}", name="status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    #: What the submitter affirmed, e.g. ``{"self_or_guardian": true, "intimate": true}``.
    attestation: Mapped[dict[str, Any]] = mapped_column(Json)
    submitted_by: Mapped[str] = mapped_column(String(ACTOR_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The submitter let the hub share the case's hashes with partner platforms
    #: (``attestation.share_with_partners``); the feed serves no other victim hash.
    shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class CaseSignal(Base):
    """Signal ``n`` (1-based, in submission order) of a case and the entry holding it.

    Two cases may submit the same hash (one entry): who may erase it is decided by
    ``EntryHolder``, not here. ``matched`` counts this signal's own matches: those
    after it was submitted, while it was active (never the entry's earlier ones)."""

    __tablename__ = "case_signals"
    __table_args__ = (
        UniqueConstraint("case_id", "n"),
        Index(None, "entry_id"),
        CheckConstraint(f"status IN {CASE_SIGNAL_STATUSES!r}", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    n: Mapped[int]
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"))
    signal: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    matched: Mapped[int] = mapped_column(BigInteger, default=0)
    last_matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EntryHolder(Base):
    """Who holds an entry in its bank: one row per holder, the entry's reference count.

    A holder is a case (``case:<id>``, one row per case however many of its signals
    carry the value) or a non-case source (``import``, ``add``). A case releases only
    its own row when it withdraws; the entry is withdrawn (its hash erased) when the
    last row goes. An admin's withdrawal erases the entry whoever holds it.
    Kept for the entries of victim_submitted banks (``keeps_holders``), the only ones
    a case can reach. Rows change only in transactions that took a store generation
    (``StoreState``), so such changes never interleave."""

    __tablename__ = "entry_holders"
    __table_args__ = (
        Index(None, "case_id"),
        CheckConstraint("(case_id IS NULL AND holder NOT LIKE 'case:%') OR "
                        "(case_id IS NOT NULL AND holder = 'case:' || case_id)",
                        name="holder_kind"),
    )

    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    holder: Mapped[str] = mapped_column(String(HOLDER_MAX), primary_key=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EntryMatchCount(Base):
    """How often an entry matched, all told (what admins see; a victim's case shows
    its own ``CaseSignal.matched`` instead, never where)."""

    __tablename__ = "entry_matches"

    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    last_matched_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- webhooks (veil.actions delivers them): subscriptions and the outbox ---------------
#: What a subscription follows: one platform key's verdicts, or any verdict with a match
#: in one bank.
WEBHOOK_TARGETS = ("key", "bank")
#: An outbox row: waiting (or being tried), delivered, or given up (the dead letters).
DELIVERY_STATUSES = ("pending", "delivered", "dead")
WEBHOOK_URL_MAX = 2000
SUBJECT_MAX = 200


class WebhookSubscription(Base):
    """Where events go: a receiver's URL and the secret their signatures use.

    The secret is kept sealed (AEAD, ``veil.actions.sealing``): signing needs it back,
    so it cannot be hashed like an API key."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        CheckConstraint(f"target IN {WEBHOOK_TARGETS!r}", name="target"),
        CheckConstraint("(target = 'key' AND key_id IS NOT NULL AND bank_id IS NULL) OR "
                        "(target = 'bank' AND bank_id IS NOT NULL AND key_id IS NULL)",
                        name="one_target"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    url: Mapped[str] = mapped_column(String(WEBHOOK_URL_MAX))
    target: Mapped[str] = mapped_column(String(8))
    key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("banks.id"))
    secret_sealed: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(ACTOR_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event for one subscription: the outbox. Rows wait here, in the database, until
    delivered or dead-lettered, so a restart loses none. ``body`` is the exact JSON
    sent (signed anew at each try with that try's timestamp); ``id`` orders the events
    of one subject."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(None, "status", "next_at"),
        Index(None, "subscription_id", "subject", "status"),
        CheckConstraint(f"status IN {DELIVERY_STATUSES!r}", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    #: When the next try is due (or, while one is under way, when its claim lapses).
    next_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
# -- policies: flood quarantines, feedback to an entry's source list ----------------------
REASON_MAX = 2000


class Quarantine(Base):
    """A bank or entry flood protection took out of automatic decisions: while
    ``active`` its matches are ``review``, until an admin releases or confirms it.
    Names the bank by name and the entry by id, like the audit log (no foreign key:
    the record outlives a withdrawal)."""

    __tablename__ = "quarantines"
    __table_args__ = (
        Index(None, "status"),
        CheckConstraint(_one_of("kind", QuarantineKind), name="kind"),
        CheckConstraint(_one_of("status", QuarantineStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    bank: Mapped[str] = mapped_column(String(NAME_MAX))
    entry_id: Mapped[int | None] = mapped_column(BigId)
    status: Mapped[str] = mapped_column(String(16))
    #: What tripped it, in numbers (share and baseline, distinct uploads, window).
    detail: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(ACTOR_MAX))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)


class SourceFeedback(Base):
    """A note for the list an entry came from (an import or, later, an exchange peer):
    this entry was disabled as a false positive. Kept ``pending`` until an exchange
    sends it; enabling the entry again retracts a note not yet sent."""

    __tablename__ = "source_feedback"
    __table_args__ = (
        Index(None, "status"),
        Index(None, "entry_id"),
        CheckConstraint(_one_of("status", FeedbackStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"))
    bank: Mapped[str] = mapped_column(String(NAME_MAX))
    source: Mapped[str | None] = mapped_column(String(SOURCE_MAX))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(ACTOR_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# -- review items (veil.review): uploads kept for a person to decide ------------------
REVIEW_SOURCES = ("scan", "review_request", "report")
REVIEW_STATUSES = ("open", "second_review", "decided", "purged")


class ReviewItem(Base):
    """An upload a person must look at: why (``source``, the scan's ``verdict``), by
    when (``act_by``), and what was decided. The media itself is in ``ReviewMedia``,
    sealed, until ``retain_until``; this row outlives it (without it, status
    ``purged``) for the audit of what was decided."""

    __tablename__ = "review_items"
    __table_args__ = (
        Index(None, "status", "act_by"),
        Index(None, "retain_until"),
        CheckConstraint(f"source IN {REVIEW_SOURCES!r}", name="source"),
        CheckConstraint(f"status IN {REVIEW_STATUSES!r}", name="status"),
    )

    #: A UUIDv7, bound into the sealed media's associated data.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(16))
    #: The name of the platform key that sent it (``key:<id>:<name>``).
    platform: Mapped[str] = mapped_column(String(ACTOR_MAX))
    #: The scan's verdict as the API answered it (matches, distances, reasons,
    #: observations).
    verdict: Mapped[dict[str, Any]] = mapped_column(Json)
    #: The upload's signals (``[{"signal", "value", "quality"}]``): what a decision
    #: adds to a bank.
    signals: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    #: Whose picture it may be: ``case:<id>`` for matched entries a case holds, else
    #: ``entry:<id>`` (the reviewer page never shows two items of one subject in a row).
    subjects: Mapped[list[str]] = mapped_column(Json)
    #: The differing region of a derived match (``{"x", "y", "w", "h"}`` as fractions
    #: of the picture): the reviewer page keeps it blurred (docs/derived.md).
    region: Mapped[dict[str, Any] | None] = mapped_column(Json)
    #: A user report's reason and notes, as the platform forwarded them.
    report_reason: Mapped[str | None] = mapped_column(String(SOURCE_MAX))
    report_notes: Mapped[str | None] = mapped_column(Text)
    media_type: Mapped[str] = mapped_column(String(64))
    media_bytes: Mapped[int] = mapped_column(BigInteger)
    act_by: Mapped[datetime] = mapped_column(UTCDateTime)
    retain_until: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    #: Every decision, oldest first: ``{"code", "note", "actor", "at"}``.
    decisions: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReviewMedia(Base):
    """The sealed (AEAD-encrypted) bytes of a review item, deleted at its retention
    deadline. A table of its own: listing items never reads the bytes, and deleting
    the row frees the pages that held them (zeroed by ``secure_delete`` on SQLite)."""

    __tablename__ = "review_media"

    item_id: Mapped[str] = mapped_column(ForeignKey("review_items.id"), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class Video(Base):
    """A banked video: its frames are ``vpdq`` entries of its bank (``VideoFrameRow``
    links them, with where each was in the video), its file's MD5 an ``md5`` entry.

    ``frames`` is the count of its distinct frame hashes of matchable quality when it
    was banked: the denominator of the vPDQ rule's candidate share (P_c)."""

    __tablename__ = "videos"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'withdrawn')", name="status"),
        Index(None, "bank_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    md5_entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"))
    frames: Mapped[int] = mapped_column(BigInteger)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    label: Mapped[str | None] = mapped_column(String(SOURCE_MAX))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_by: Mapped[str] = mapped_column(String(ACTOR_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VideoFrameRow(Base):
    """One kept frame of a banked video: which entry holds its hash, and where it was."""

    __tablename__ = "video_frames"
    __table_args__ = (Index(None, "entry_id"),)

    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id"), primary_key=True)
    frame: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"))
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    quality: Mapped[int]


class RegionSignal(Base):
    """A banked photo's region signal (``veil.regions.blob``), sealed with the region
    key (``veil.regions.sealing``), which is not in the database. It belongs to the
    photo's ``pdq`` entry: it is matched while that entry is active, and deleted when
    the entry's hash is erased (withdrawn: a trigger of migration 0010 deletes it,
    whichever statement erased the value)."""

    __tablename__ = "region_signals"

    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"),
                                          primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    #: Keypoints in the blob: what a listing shows without opening it.
    points: Mapped[int]
    created_by: Mapped[str] = mapped_column(String(ACTOR_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# -- hash exchange (veil.exchange): the hub's partners, the exchanges this node pulls --
EXCHANGE_KINDS = ("stopncii", "veil", "hma")
PARTNER_MAX = 100


class ExchangePartner(Base):
    """What an ``exchange``-scoped key may do at the hub: fetch these banks (each must
    also be shared by its own policy) and submit into one bank, if any."""

    __tablename__ = "exchange_partners"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), unique=True)
    #: Bank names, checked when set; a bank renamed or removed later simply stops
    #: being served.
    fetch_banks: Mapped[list[str]] = mapped_column(Json)
    submit_bank_id: Mapped[int | None] = mapped_column(ForeignKey("banks.id"))
    created_by: Mapped[str] = mapped_column(String(ACTOR_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnerFeedback(Base):
    """A partner's latest opinion of one entry (StopNCII ``CSPFeedbacks``)."""

    __tablename__ = "partner_feedback"
    __table_args__ = (UniqueConstraint("entry_id", "partner"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"))
    #: The partner key's name, as the feed shows it to other partners.
    partner: Mapped[str] = mapped_column(String(PARTNER_MAX))
    value: Mapped[str] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(Json, default=list)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExchangeTombstone(Base):
    """A withdrawn hash of a shared bank, kept only so partners learn to delete it:
    the feed serves it as ``Withdrawn`` and it is erased after
    ``VEIL_EXCHANGE_TOMBSTONE_DAYS`` (a partner that waited longer refetches all)."""

    __tablename__ = "exchange_tombstones"
    __table_args__ = (Index(None, "bank_id", "at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    signal: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(128))
    #: ``withdrawn`` (a victim took it back) or ``deleted`` (removed by the hub).
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Exchange(Base):
    """A hash list this node pulls into one of its banks (``veil exchange``).

    ``credentials`` names where the secret is (an environment variable or a file),
    never the secret itself.
    """

    __tablename__ = "exchanges"
    __table_args__ = (CheckConstraint(f"kind IN {EXCHANGE_KINDS!r}", name="kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(2000))
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    credentials: Mapped[str | None] = mapped_column(String(300))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The peer's own checkpoint, advanced in the transaction that merged its page.
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(Json)
    last_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(500))
    counts: Mapped[dict[str, int]] = mapped_column(Json, default=dict)
    #: Which process syncs it now, and until when (nodes sharing one database take
    #: turns: two walks of one exchange would race on its checkpoint).
    lease_holder: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(ACTOR_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExchangeReject(Base):
    """A record an exchange sent that could not be merged, kept aside with why."""

    __tablename__ = "exchange_rejects"
    __table_args__ = (Index(None, "exchange_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(String(300))
    #: The record as received, cut to ``REJECT_RECORD_MAX`` characters.
    record: Mapped[str] = mapped_column(Text)


class ReviewSessionRow(Base):
    """A reviewer page's session (``veil.api.sessions``), in the store so that every
    worker and node behind one database knows it. Only the SHA-256 of the cookie's
    value is kept (256 random bits: the digest cannot be turned back into a cookie),
    with the reviewer's key hash (a revoked key ends its sessions), the actor the
    audit log names, and what the page showed: the item on screen, whose case the last
    item was, the items skipped."""

    __tablename__ = "review_sessions"
    __table_args__ = (Index(None, "key_hash"), Index(None, "seen_at"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    current_item: Mapped[str | None] = mapped_column(String(36))
    last_subjects: Mapped[list[str]] = mapped_column(Json, default=list)
    skipped: Mapped[list[str]] = mapped_column(Json, default=list)
