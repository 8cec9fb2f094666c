"""Reviewer page sessions in the store (``veil.api.sessions`` is their only user).

A session is found by the SHA-256 of its cookie's value, never by the value itself:
someone who reads the database learns which sessions exist, not a cookie to present.
Keeping them here rather than in one process's memory is what lets a reviewer's calls
land on any worker of ``veil serve --workers N`` and any node on one database.

Every row ends: at log-out, when a look-up finds it idle or too old (the look-up
deletes it), when its key is revoked (``ApiKeys.revoke_api_key`` deletes the key's
sessions in the same transaction), at the service's scheduled purges
(``purge_review_sessions``) and at any log-in, which first deletes every ended
session and, past ``MAX_SESSIONS``, the least recently seen. A look-up writes
only when the session's ``seen_at`` is at least ``touch`` old, so a page's calls
cost reads, not a write each. Mixed into ``Store``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import ColumnElement, delete, func, or_, select, update

from veil.store.coltypes import utcnow
from veil.store.models import ReviewSessionRow
from veil.store.transactions import StoreBase, check_actor, database_errors

#: Most sessions kept at once; beyond it a log-in ends the least recently seen.
MAX_SESSIONS = 10_000
#: Items one session remembers as skipped (the rotation shows them last); the oldest
#: are forgotten beyond it, so a session's row stays small.
MAX_SKIPPED = 500


class Keep(Enum):
    """``update_review_session``'s default: leave the field as it is."""

    KEEP = 0


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class ReviewSessionRecord:
    id: str
    key_hash: str
    actor: str
    created_at: datetime
    seen_at: datetime
    #: The item on the reviewer's screen (the only one whose media it may fetch).
    current_item: str | None
    #: Whose case the last item shown was (``ReviewItemRecord.subjects``).
    last_subjects: frozenset[str]
    skipped: frozenset[str]


def _record(row: ReviewSessionRow) -> ReviewSessionRecord:
    return ReviewSessionRecord(id=row.id, key_hash=row.key_hash, actor=row.actor,
                               created_at=row.created_at, seen_at=row.seen_at,
                               current_item=row.current_item,
                               last_subjects=frozenset(row.last_subjects),
                               skipped=frozenset(row.skipped))


@dataclass(frozen=True, slots=True)
class SessionTimes:
    """How long a session lives: ``idle`` since it was last seen, ``lifetime`` in all;
    ``touch``: how stale ``seen_at`` may get before a look-up rewrites it."""

    idle: timedelta
    lifetime: timedelta
    touch: timedelta

    def expired(self, now: datetime) -> ColumnElement[bool]:
        """The SQL condition of a session that has ended by ``now`` (``ended``'s rule)."""
        return or_(ReviewSessionRow.seen_at < now - self.idle,
                   ReviewSessionRow.created_at < now - self.lifetime)

    def ended(self, session: ReviewSessionRecord, now: datetime) -> bool:
        """Whether ``session`` has ended by ``now`` (``expired``'s rule, in Python)."""
        return session.seen_at < now - self.idle or session.created_at < now - self.lifetime


class ReviewSessions(StoreBase):
    """The ``Store`` methods for reviewer page sessions."""

    @database_errors
    def create_review_session(self, session_id: str, key_hash: str, actor: str,
                              times: SessionTimes, *, now: datetime | None = None,
                              max_sessions: int = MAX_SESSIONS) -> ReviewSessionRecord:
        """A new session under ``session_id`` (the digest of its cookie's value)."""
        actor = check_actor(actor)
        now = now or utcnow()
        with self._writing(topic=None) as s:
            s.execute(delete(ReviewSessionRow).where(times.expired(now)))
            extra = s.scalar(select(func.count()).select_from(ReviewSessionRow)) or 0
            extra -= max_sessions - 1
            if extra > 0:
                oldest = select(ReviewSessionRow.id).order_by(
                    ReviewSessionRow.seen_at, ReviewSessionRow.id).limit(extra)
                s.execute(delete(ReviewSessionRow).where(
                    ReviewSessionRow.id.in_(oldest.scalar_subquery())))
            row = ReviewSessionRow(id=session_id, key_hash=key_hash, actor=actor,
                                   created_at=now, seen_at=now, current_item=None,
                                   last_subjects=[], skipped=[])
            s.add(row)
            s.flush()
            return _record(row)

    @database_errors
    def review_session(self, session_id: str, times: SessionTimes, *,
                       now: datetime | None = None) -> ReviewSessionRecord | None:
        """The live session ``session_id``, or None; an ended one is deleted here."""
        now = now or utcnow()
        with self._reading() as s:
            row = s.get(ReviewSessionRow, session_id)
            if row is None:
                return None
            found = _record(row)
        if times.ended(found, now):
            self.end_review_session(session_id)
            return None
        if now - found.seen_at >= times.touch:
            with self._writing(topic=None) as s:
                s.execute(update(ReviewSessionRow).where(ReviewSessionRow.id == session_id)
                          .values(seen_at=now))
        return found

    @database_errors
    def update_review_session(self, session_id: str, *,
                              current_item: str | Keep | None = KEEP,
                              last_subjects: Iterable[str] | Keep = KEEP,
                              skip: str | None = None) -> None:
        """Record what the page showed: the item on screen, whose case it was, and an
        item the reviewer skipped. A session that has ended meanwhile stays ended."""
        with self._writing(topic=None) as s:
            row = s.get(ReviewSessionRow, session_id, with_for_update=True)
            if row is None:
                return
            if not isinstance(current_item, Keep):
                row.current_item = current_item
            if not isinstance(last_subjects, Keep):
                row.last_subjects = sorted(last_subjects)
            if skip is not None and skip not in row.skipped:
                row.skipped = [*row.skipped, skip][-MAX_SKIPPED:]

    @database_errors
    def purge_review_sessions(self, times: SessionTimes, *,
                              now: datetime | None = None) -> int:
        """Delete every session that has ended by ``now``; returns how many went."""
        now = now or utcnow()
        with self._reading() as s:  # most rounds find nothing: no write lock for them
            if s.scalar(select(ReviewSessionRow.id).where(times.expired(now)).limit(1)) is None:
                return 0
        with self._writing(topic=None) as s:
            return int(s.connection().execute(
                delete(ReviewSessionRow).where(times.expired(now))).rowcount)

    @database_errors
    def end_review_session(self, session_id: str) -> None:
        with self._writing(topic=None) as s:
            s.execute(delete(ReviewSessionRow).where(ReviewSessionRow.id == session_id))
