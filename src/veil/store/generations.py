"""Stamping: every entry a writing transaction touches records that transaction's
store generation, which is what the change feed (``Store.changes``) reads.

ORM changes are stamped here, at flush; Core statements that write entries (the
bulk import) stamp their rows themselves. An entry changed in a transaction that
took no generation is a programming error, refused before it reaches the database:
a live index would never hear of it.

Every changed entry's ``updated_at`` is set here too, to the time of the flush: the
transaction holds the generation's row lock by then (until it commits), so on one
node ``updated_at`` rises in commit order. The hub's feed (``exchange_feed``) pages
by it, and a partner that has read a stamp has therefore seen every earlier one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from veil.store.coltypes import utcnow
from veil.store.models import Entry

#: ``Session.info`` key holding the generation the transaction took.
GENERATION = "veil_generation"
#: ``Session.info`` key holding the signal types whose hashes the transaction erased
#: (withdrawals): after it commits, the store deletes their index snapshots and
#: erases what the database keeps of the old values elsewhere (``StoreBase``).
ERASED = "veil_erased"


class StampingSession(Session):
    """A session whose flushes stamp changed entries with ``info[GENERATION]``."""


@event.listens_for(StampingSession, "before_flush")
def _stamp(session: Session, _context: Any, _instances: Any) -> None:
    changed = [o for o in (*session.new, *session.dirty) if isinstance(o, Entry)]
    if not changed:
        return
    generation = session.info.get(GENERATION)
    if generation is None:
        raise RuntimeError("entries changed in a transaction that took no store generation")
    now = utcnow()
    for e in changed:
        e.generation = generation
        e.updated_at = now
        if e in session.new:
            e.created_at = now  # an entry is new when first changed
        history = inspect(e).attrs.value.history
        if history.deleted and any(v is not None for v in history.deleted) and e.value is None:
            session.info.setdefault(ERASED, set()).add(e.signal)
