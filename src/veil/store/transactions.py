"""What every part of the ``Store`` shares: the engine, transactions, generations,
the audit log, actor checks, database errors, and post-commit hooks.

``StoreBase`` sits below the mixins (``keys``, ``cases``) and the repository, so
none of them imports another to reach these.

Post-commit hooks: a process holding a live index registers one (``after_commit``)
and is told, right after any transaction of this store commits, which kind of
state changed: ``"banks"`` (banks, entries, cases: anything an index reflects) or
``"keys"``. A hook runs on the committing thread; its failure is logged, never
raised, since the change it reports is committed either way.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from veil.config import Settings
from veil.errors import BadInput, StoreError
from veil.store.coltypes import utcnow
from veil.store.database import WRITE
from veil.store.generations import GENERATION, StampingSession
from veil.store.models import ACTOR_MAX, AuditEvent, StoreState

log = logging.getLogger("veil.store")

Topic = Literal["banks", "keys"]
CommitHook = Callable[[Topic], None]

P = ParamSpec("P")
R = TypeVar("R")


def database_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Database failures become StoreErrors: one line for the CLI, a 5xx for the API."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except OperationalError as exc:
            if "locked" in str(exc.orig):
                raise StoreError("the database is busy (another import or change is "
                                 "running); try again", code="store.busy") from exc
            raise StoreError(f"database unavailable: {exc.orig}",
                             code="store.unavailable") from exc
        except DBAPIError as exc:
            raise StoreError(f"database error: {exc.orig}") from exc

    return wrapper


def check_actor(actor: str) -> str:
    if not actor or not actor.strip() or len(actor) > ACTOR_MAX:
        raise BadInput(f"actor must be 1-{ACTOR_MAX} characters")
    return actor


class StoreBase:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._writer = engine.execution_options(**{WRITE: True})
        self._hooks: list[CommitHook] = []

    def close(self) -> None:
        self.engine.dispose()

    # -- post-commit hooks --------------------------------------------------------------
    def after_commit(self, hook: CommitHook) -> None:
        """Call ``hook(topic)`` after every commit of this store that changes state."""
        self._hooks.append(hook)

    def _committed(self, topic: Topic) -> None:
        for hook in tuple(self._hooks):
            try:
                hook(topic)
            except Exception:  # the change is committed; the hook's owner retries
                log.exception("post-commit hook failed", extra={"topic": topic})

    # -- transactions -------------------------------------------------------------------
    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with Session(self.engine) as s, s.begin():
            yield s

    @contextmanager
    def _writing(self, *, bump: bool = True, topic: Topic | None = "banks") -> Iterator[Session]:
        """A write transaction. ``bump``: take the next store generation (everything an
        index reflects needs one); ``topic``: what the post-commit hooks are told
        changed (None: nothing they follow, e.g. match counters)."""
        # The bump comes first: it locks the generation row, so generations commit in
        # order (see StoreState), and every entry the transaction touches is stamped
        # with it.
        with StampingSession(self._writer, expire_on_commit=False) as s, s.begin():
            if bump:
                s.info[GENERATION] = self._bump(s)
            yield s
        if topic is not None:
            self._committed(topic)

    @staticmethod
    def _bump(s: Session | Connection) -> int:
        """Take the next generation for this transaction; returns it."""
        s.execute(update(StoreState).where(StoreState.id == 1)
                  .values(generation=StoreState.generation + 1))
        return int(s.execute(select(StoreState.generation)
                             .where(StoreState.id == 1)).scalar_one())

    @staticmethod
    def _audit(s: Session | Connection, actor: str, action: str, *, bank: str | None = None,
               entry_id: int | None = None, **detail: Any) -> None:
        # never a hash value in here: see AuditEvent
        s.execute(insert(AuditEvent).values(at=utcnow(), actor=actor, action=action, bank=bank,
                                            entry_id=entry_id, detail=detail))
