"""What every part of the ``Store`` shares: the engine, transactions, generations,
the audit log, actor checks, database errors, and post-commit hooks.

``StoreBase`` sits below the mixins (``keys``, ``cases``) and the repository, so
none of them imports another to reach these.

Post-commit hooks: a process holding a live index registers one (``after_commit``)
and is told, right after any transaction of this store commits, which kind of
state changed: ``"banks"`` (banks, entries, cases: anything an index reflects),
``"keys"``, or ``"webhooks"`` (subscriptions changed, or a transaction put events in
the webhook outbox: ``outbox.enqueue``, whatever else it changed). A hook runs on
the committing thread; its failure is logged, never raised, since the change it
reports is committed either way.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from veil.config import Settings, snapshot_path
from veil.errors import BadInput, StoreError
from veil.store.coltypes import utcnow
from veil.store.database import WRITE
from veil.store.generations import ERASED, GENERATION, StampingSession
from veil.store.models import ACTOR_MAX, AuditEvent, StoreState

log = logging.getLogger("veil.store")

#: Seconds between the eraser thread's retries of erasure left pending.
ERASURE_RETRY_S = 30.0

Topic = Literal["banks", "keys", "webhooks"]
CommitHook = Callable[[Topic], None]
#: ``Session.info`` flag: this transaction put events in the webhook outbox.
ENQUEUED = "veil.webhooks_enqueued"

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
        self._erasure_pending = False
        self._erasure_lock = threading.Lock()  # the request's erasure and the eraser's
        self._erasure_wake = threading.Event()
        self._closing = threading.Event()
        self._eraser: threading.Thread | None = None
        self._offload_erasure = False

    def close(self) -> None:
        if self._eraser is not None:
            self._closing.set()
            self._erasure_wake.set()
            self._eraser.join(60)
            self._eraser = None
        if self._erasure_pending:
            self._erase_traces()  # what the background eraser had not done yet
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
    def _writing(self, topic: Topic | None = "banks") -> Iterator[Session]:
        """A write transaction; ``topic``: what the post-commit hooks are told changed
        (None: nothing they follow, e.g. match counters). A ``"banks"`` transaction
        takes the next store generation (everything an index reflects needs one)."""
        # The generation comes first: it locks the generation row, so generations
        # commit in order (see StoreState), and every entry the transaction touches is
        # stamped with it. That lock is the only one writers take: it serialises every
        # transaction that changes banks, entries, holds or cases (PostgreSQL runs at
        # READ COMMITTED, so each statement after it reads what the previous writer
        # committed; SQLite serialises writers anyway), so row locks under it would add
        # nothing but waits (match counters' foreign-key checks on entries).
        with StampingSession(self._writer, expire_on_commit=False) as s, s.begin():
            if topic == "banks":
                s.info[GENERATION] = self._bump(s)
            yield s
        erased: set[str] = s.info.get(ERASED, set())
        if erased:
            self._erased(erased)
        if topic is not None:
            self._committed(topic)
        if s.info.get(ENQUEUED) and topic != "webhooks":
            self._committed("webhooks")

    @contextmanager
    def _writing_banks(self, conn: Connection) -> Iterator[int]:
        """``_writing`` for Core statements on a connection of the caller's (the bulk
        import's, which holds its staging table): a write transaction that takes the
        next store generation first and yields it; the hooks hear of it after commit.
        Entries written here stamp themselves with the generation."""
        with conn.execution_options(**{WRITE: True}).begin():
            yield self._bump(conn)
        self._committed("banks")

    # -- erasure ------------------------------------------------------------------------
    def start_eraser(self, *, offload: bool | None = None,
                     retry_s: float = ERASURE_RETRY_S) -> None:
        """Start the store's eraser thread (a long-running process does; ``close`` stops
        it and runs what is still pending).

        It erases traces once at once (a process that crashed mid-erasure left work
        nobody remembers), then retries erasure left pending every ``retry_s`` (a WAL
        checkpoint that readers kept busy, a VACUUM that failed), without waiting for
        the next withdrawal or a restart. ``offload``: it also runs every erasure
        instead of the withdrawing request (a PostgreSQL ``VACUUM`` scans the entries'
        indexes: seconds for millions of entries); requests that arrive while one runs
        are folded into the next run. By default the store decides by its database:
        PostgreSQL offloads; SQLite's WAL truncation is cheap and stays in the
        withdrawal, so its return means the hash is off disk."""
        if self._eraser is not None:
            return
        self._offload_erasure = (self.engine.dialect.name == "postgresql"
                                 if offload is None else offload)
        self._erasure_pending = True
        wake = self._erasure_wake

        def run() -> None:
            woken = True
            while not self._closing.is_set():
                # woken: a request that arrived while the last run was under way, whose
                # pending flag that run's end cleared
                if woken or self._erasure_pending:
                    self._erase_traces()
                woken = wake.wait(retry_s)
                wake.clear()

        self._eraser = threading.Thread(target=run, name="veil-erasure", daemon=True)
        self._eraser.start()

    def _erased(self, signals: set[str]) -> None:
        """After a transaction erased hashes of ``signals`` committed: their index
        snapshots may hold them (the next load rebuilds those), and the database keeps
        old row versions."""
        for signal in signals:
            snapshot_path(self.settings.home, signal).unlink(missing_ok=True)
        if self._eraser is not None and self._offload_erasure:
            self._erasure_pending = True
            self._erasure_wake.set()
        else:
            self._erase_traces()

    def _erase_traces(self) -> None:
        """After a hash was erased: make the database drop the old value where it keeps
        copies of changed rows. SQLite: checkpoint the WAL into the database file and
        truncate it (``secure_delete`` has zeroed the freed cells). PostgreSQL:
        ``VACUUM`` the entries table, which removes the old row version and its index
        entries, and the region signals' (an erased pdq entry's signal is deleted with
        it; docs/security.md says what remains in the WAL and backups). A failure
        is logged and left pending: the eraser thread retries it, else the next
        erasure or ``close``. The withdrawal itself stands."""
        with self._erasure_lock:
            self._erasure_pending = True
            try:
                with self.engine.connect() as conn:
                    if conn.dialect.name == "sqlite":
                        busy = conn.exec_driver_sql(
                            "PRAGMA wal_checkpoint(TRUNCATE)").scalar()
                        if busy:
                            log.warning("WAL not truncated after an erasure (readers "
                                        "busy); retried")
                            return
                    elif conn.dialect.name == "postgresql":
                        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                            "VACUUM entries, region_signals")
            except DBAPIError as exc:
                log.warning("old row versions not erased yet: %s", exc.orig)
                return
            self._erasure_pending = False

    def _erase_table_traces(self, table: str) -> None:
        """``_erase_traces`` for rows deleted from ``table`` (purged review media,
        expired tombstones): PostgreSQL vacuums that table; SQLite truncates its WAL.
        A failure is logged; the rows stay deleted."""
        if self.engine.dialect.name != "postgresql":
            self._erase_traces()
            return
        try:
            with self.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    f"VACUUM {table}")
        except DBAPIError as exc:
            log.warning("%s not vacuumed yet: %s", table, exc.orig)

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
