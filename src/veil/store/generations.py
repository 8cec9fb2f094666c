"""Stamping: every entry a writing transaction touches records that transaction's
store generation, which is what the change feed (``Store.changes``) reads.

ORM changes are stamped here, at flush; Core statements that write entries (the
bulk import) stamp their rows themselves. An entry changed in a transaction that
took no generation is a programming error, refused before it reaches the database:
a live index would never hear of it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from veil.store.models import Entry

#: ``Session.info`` key holding the generation the transaction took.
GENERATION = "veil_generation"


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
    for e in changed:
        e.generation = generation
