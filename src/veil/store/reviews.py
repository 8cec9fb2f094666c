"""Review items in the store: uploads kept, sealed, for a person to decide.

The store keeps rows and sealed bytes; it never sees a key or a plaintext byte
(``veil.review.sealing`` seals before anything reaches here). What the store
guarantees:

* a new item and its sealed media are written in one transaction, and only while the
  media of all items still held stays within the caller's cap (``review.queue_full``
  otherwise, HTTP 507), checked under the write lock so two uploads cannot both fit;
* ``purge_review_media`` deletes the sealed bytes of every item past its retention
  deadline, then erases what the database keeps of them elsewhere: SQLite's WAL is
  checkpointed and truncated (``secure_delete`` has zeroed the freed pages), and
  PostgreSQL's ``review_media`` is vacuumed. The item row stays, status ``purged``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from veil.errors import Conflict, NotFound, VeilError
from veil.store.coltypes import utcnow
from veil.store.models import Bank, Entry, EntryHolder, ReviewItem, ReviewMedia, SourceFeedback
from veil.store.transactions import StoreBase, check_actor, database_errors
from veil.store.vocabulary import FeedbackStatus, from_a_list

log = logging.getLogger("veil.store")

#: Statuses whose media is still held (counted against the queue's cap).
HOLDING = ("open", "second_review", "decided")
#: Statuses a reviewer may still decide.
UNDECIDED = ("open", "second_review")


class QueueFull(VeilError):
    """The review queue holds as much media as it may; nothing more until items are
    decided and purged, or the operator raises the cap."""

    code = "review.queue_full"
    http_status = 507


@dataclass(frozen=True, slots=True)
class NewReviewItem:
    """What ``veil.review`` hands the store for a new item (the media already sealed)."""

    id: str
    source: str
    platform: str
    verdict: dict[str, Any]
    signals: list[dict[str, Any]]
    media_type: str
    media_bytes: int
    act_by: datetime
    retain_until: datetime
    report_reason: str | None = None
    report_notes: str | None = None
    #: The differing region of a derived match, as fractions of the picture.
    region: dict[str, float] | None = None


@dataclass(frozen=True, slots=True)
class ReviewItemRecord:
    id: str
    created_at: datetime
    source: str
    platform: str
    verdict: dict[str, Any]
    signals: tuple[dict[str, Any], ...]
    subjects: tuple[str, ...]
    region: dict[str, Any] | None
    report_reason: str | None
    report_notes: str | None
    media_type: str
    media_bytes: int
    act_by: datetime
    retain_until: datetime
    status: str
    decisions: tuple[dict[str, Any], ...]
    purged_at: datetime | None


def _record(r: ReviewItem) -> ReviewItemRecord:
    return ReviewItemRecord(
        id=r.id, created_at=r.created_at, source=r.source, platform=r.platform,
        verdict=dict(r.verdict), signals=tuple(r.signals), subjects=tuple(r.subjects),
        region=r.region, report_reason=r.report_reason, report_notes=r.report_notes,
        media_type=r.media_type, media_bytes=r.media_bytes, act_by=r.act_by,
        retain_until=r.retain_until, status=r.status, decisions=tuple(r.decisions or ()),
        purged_at=r.purged_at)


def _entry_ids(verdict: dict[str, Any]) -> list[int]:
    ids = []
    for m in verdict.get("matches") or ():
        if isinstance(m, dict) and isinstance(m.get("entry_id"), int):
            ids.append(m["entry_id"])
    return ids


#: What a reviewer's decision tells the lists its matches came from.
_FEEDBACK_OF = {"confirmed_ncii": "confirmed", "synthetic_ncii": "confirmed",
                "not_ncii": "false_positive"}


class ReviewItems(StoreBase):
    """The ``Store`` methods for review items."""

    @database_errors
    def add_review_item(self, new: NewReviewItem, sealed: bytes, *,
                        max_queue_bytes: int) -> ReviewItemRecord:
        """Store ``new`` and its sealed media; ``QueueFull`` when the media held would
        pass ``max_queue_bytes``. The item's subjects (whose picture it may be) are
        the cases holding its matched entries, else the entries themselves."""
        actor = check_actor(new.platform)
        with self._writing(topic=None) as s:
            held = s.scalar(select(func.coalesce(func.sum(ReviewItem.media_bytes), 0))
                            .where(ReviewItem.status.in_(HOLDING))) or 0
            if held + new.media_bytes > max_queue_bytes:
                raise QueueFull(f"the review queue holds {held:,} bytes of media; this "
                                f"upload ({new.media_bytes:,} bytes) would pass its cap of "
                                f"{max_queue_bytes:,} (VEIL_REVIEW_MAX_QUEUE_BYTES)")
            entries = _entry_ids(new.verdict)
            subjects: list[str] = []
            if entries:
                holders: dict[int, list[str]] = {}
                for entry_id, case_id in s.execute(
                        select(EntryHolder.entry_id, EntryHolder.case_id).where(
                            EntryHolder.entry_id.in_(entries),
                            EntryHolder.case_id.is_not(None))):
                    holders.setdefault(entry_id, []).append(f"case:{case_id}")
                for entry_id in entries:
                    for subject in holders.get(entry_id) or [f"entry:{entry_id}"]:
                        if subject not in subjects:
                            subjects.append(subject)
            row = ReviewItem(
                id=new.id, created_at=utcnow(), source=new.source, platform=new.platform,
                verdict=new.verdict, signals=new.signals, subjects=subjects, region=new.region,
                report_reason=new.report_reason, report_notes=new.report_notes,
                media_type=new.media_type, media_bytes=new.media_bytes, act_by=new.act_by,
                retain_until=new.retain_until, status="open", decisions=[], purged_at=None)
            s.add(row)
            s.flush()
            s.add(ReviewMedia(item_id=new.id, sealed=sealed))
            self._audit(s, actor, "review.item_create", item=new.id, source=new.source,
                        media_bytes=new.media_bytes, entry_ids=entries)
            record = _record(row)
        return record

    @database_errors
    def review_item(self, item_id: str) -> ReviewItemRecord:
        with self._reading() as s:
            row = s.get(ReviewItem, item_id)
            if row is None:
                raise NotFound(f"no review item {item_id}")
            return _record(row)

    @database_errors
    def review_items(self, *, statuses: Sequence[str] = UNDECIDED,
                     limit: int = 100) -> list[ReviewItemRecord]:
        """Items of ``statuses``, the most urgent (earliest ``act_by``) first."""
        q = (select(ReviewItem).where(ReviewItem.status.in_(tuple(statuses)))
             .order_by(ReviewItem.act_by, ReviewItem.created_at, ReviewItem.id)
             .limit(max(0, limit)))
        with self._reading() as s:
            return [_record(r) for r in s.scalars(q)]

    @database_errors
    def review_queue_bytes(self) -> int:
        """Bytes of media the queue holds now (what its cap counts)."""
        with self._reading() as s:
            return int(s.scalar(select(func.coalesce(func.sum(ReviewItem.media_bytes), 0))
                                .where(ReviewItem.status.in_(HOLDING))) or 0)

    @database_errors
    def sealed_review_media(self, item_id: str, *, actor: str,
                            action: str = "review.media_view") -> bytes | None:
        """The sealed media of ``item_id`` (None once purged); the read is audited,
        since who looked at an upload is the audit's business."""
        actor = check_actor(actor)
        with self._writing(topic=None) as s:
            if s.get(ReviewItem, item_id) is None:
                raise NotFound(f"no review item {item_id}")
            sealed = s.scalar(select(ReviewMedia.sealed).where(ReviewMedia.item_id == item_id))
            if sealed is not None:
                self._audit(s, actor, action, item=item_id)
        return None if sealed is None else bytes(sealed)

    @database_errors
    def audit_review(self, actor: str, action: str, item_id: str, **detail: Any) -> None:
        """Record a reviewer's action on an item that changes nothing else (a reveal)."""
        actor = check_actor(actor)
        with self._writing(topic=None) as s:
            self._audit(s, actor, action, item=item_id, **detail)

    @database_errors
    def record_review_decision(self, item_id: str, *, code: str, note: str | None,
                               status: str, actor: str, not_by: Sequence[str] = (),
                               **detail: Any) -> ReviewItemRecord:
        """Append a decision to an undecided item and set its status; ``not_by``:
        actors who may not make this one (a second review is another person's).
        ``Conflict`` if the item is decided or purged, or one of ``not_by`` decides."""
        actor = check_actor(actor)
        with self._writing(topic=None) as s:
            row = s.get(ReviewItem, item_id)
            if row is None:
                raise NotFound(f"no review item {item_id}")
            if row.status not in UNDECIDED:
                raise Conflict(f"review item {item_id} is {row.status}, not open")
            if actor in not_by:
                raise Conflict("a second review must be made by another reviewer")
            decision = {"code": code, "note": note, "actor": actor,
                        "at": utcnow().isoformat(), **detail}
            row.decisions = [*(row.decisions or []), decision]
            row.status = status
            self._audit(s, actor, "review.decide", item=item_id, code=code, status=status,
                        **detail)
            kind = _FEEDBACK_OF.get(code)
            if kind is not None:
                self._tell_sources(s, row, kind, actor=actor)
            s.flush()
            record = _record(row)
        return record

    def _tell_sources(self, s: Any, row: ReviewItem, kind: str, *, actor: str) -> None:
        """A decided item's matches in other people's lists become notes for those
        lists (an exchange sends them: ``Blocked`` or ``NotBlocked``)."""
        ids = sorted({int(m["entry_id"]) for m in (row.verdict or {}).get("matches", [])
                      if isinstance(m, dict) and isinstance(m.get("entry_id"), int)})
        if not ids:
            return
        now = utcnow()
        for e, bank, category in s.execute(
                select(Entry, Bank.name, Bank.category).join(Bank, Bank.id == Entry.bank_id)
                .where(Entry.id.in_(ids[:1000]), Entry.value.is_not(None))):
            if not from_a_list(category, e.source):
                continue
            s.add(SourceFeedback(entry_id=e.id, bank=bank, source=e.source, kind=kind,
                                 status=FeedbackStatus.PENDING.value,
                                 reason=f"review item {row.id}", created_by=actor,
                                 created_at=now, updated_at=now))
            self._audit(s, actor, "entry.feedback", bank=bank, entry_id=e.id,
                        source=e.source, kind=kind, item=row.id)

    @database_errors
    def purge_review_media(self, *, now: datetime | None = None,
                           actor: str = "veil:retention") -> list[str]:
        """Delete the media of every item whose retention deadline has passed, then
        erase the database's other copies of it; returns the purged items' ids."""
        now = now or utcnow()
        overdue = (ReviewItem.retain_until <= now, ReviewItem.status != "purged")
        with self._reading() as s:  # most rounds find nothing: no write lock for them
            if s.scalar(select(ReviewItem.id).where(*overdue).limit(1)) is None:
                return []
        with self._writing(topic=None) as s:
            due = list(s.scalars(select(ReviewItem).where(*overdue)))
            for row in due:
                media = s.get(ReviewMedia, row.id)
                if media is not None:
                    s.delete(media)
                row.status = "purged"
                row.purged_at = now
                self._audit(s, actor, "review.purge", item=row.id)
            ids = [row.id for row in due]
        if ids:
            self._erase_table_traces("review_media")
        return ids
