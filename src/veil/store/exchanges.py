"""Exchanges this node pulls from: their configuration, checkpoints and status, the
merge of one fetched page into the exchange's bank, and what goes back as feedback.

One page is one transaction: its records, the refused ones set aside and the new
checkpoint commit together, so a checkpoint never passes a record that was not
merged, and a crash mid-page leaves the page to be fetched again (merging a record
twice changes nothing: the bank's unique index and the status comparison see to
it). Writes are Core statements in batches, not ORM objects: a first sync of a hub
merges millions of records.

A record whose status tells peers to delete it (``gone``) erases the entry's hash
as a victim's withdrawal does. After a full walk of the peer's list (a first sync,
or a stale checkpoint) every entry of the exchange the walk did not touch is erased
too: the peer no longer has it. Mixed into ``Store``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from veil.errors import BadInput, Conflict, NotFound
from veil.store.coltypes import UTCDateTime, utcnow
from veil.store.database import WRITE
from veil.store.exchange_feed import FEED_SIGNALS
from veil.store.models import (
    CASE_REF_MAX,
    EXCHANGE_KINDS,
    NAME_MAX,
    Bank,
    Entry,
    Exchange,
    ExchangeReject,
    ExchangeTombstone,
    SourceFeedback,
)
from veil.store.policy import BankPolicy
from veil.store.transactions import StoreBase, check_actor, database_errors
from veil.store.vocabulary import Category, EntryStatus, FeedbackStatus

#: Longest kept copy of a refused record (what a person needs to see why).
REJECT_RECORD_MAX = 1000
#: Values looked up per statement (well under SQLite's bound-parameter limit).
_CHUNK = 400
_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{NAME_MAX - 1}}}")


def exchange_source(name: str) -> str:
    """The ``Entry.source`` of entries an exchange brought."""
    return f"exchange:{name}"


@dataclass(frozen=True, slots=True)
class ExchangeRecord:
    id: int
    name: str
    kind: str
    url: str
    bank: str
    credentials: str | None
    enabled: bool
    checkpoint: dict[str, Any] | None
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    error: str | None
    counts: dict[str, int]
    created_by: str
    created_at: datetime


class Incoming(NamedTuple):
    """One checked record of a peer's page, in Veil's words. A named tuple: a page
    holds thousands, built in the sync's hot loop, and it goes to the staging table
    as it is (its field order is the table's column order)."""

    signal: str
    value: str
    #: The peer says delete it (StopNCII ``Withdrawn``/``Deleted``).
    gone: bool
    quality: int | None = None
    #: The peer's case references, joined (provenance only; never matched on).
    case_ref: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str
    record: str


@dataclass(slots=True)
class PageCounts:
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    rejected: int = 0
    erased_signals: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "removed": self.removed,
                "unchanged": self.unchanged, "rejected": self.rejected}


@dataclass(frozen=True, slots=True)
class RejectRecord:
    id: int
    at: datetime
    reason: str
    record: str


@dataclass(frozen=True, slots=True)
class OutgoingFeedback:
    """A note for the peer an entry came from (``SourceFeedback``, pending)."""

    id: int
    signal: str
    value: str
    kind: str


def _record(x: Exchange, bank: str) -> ExchangeRecord:
    return ExchangeRecord(id=x.id, name=x.name, kind=x.kind, url=x.url, bank=bank,
                          credentials=x.credentials, enabled=x.enabled,
                          checkpoint=None if x.checkpoint is None else dict(x.checkpoint),
                          last_fetch_at=x.last_fetch_at, last_success_at=x.last_success_at,
                          error=x.error, counts=dict(x.counts or {}),
                          created_by=x.created_by, created_at=x.created_at)


_staging = Table(
    "veil_exchange_staging",
    MetaData(),
    #: Arrival order: of two staged records of one hash, the later one counts.
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("signal", String(32), nullable=False),
    Column("value", String(128), nullable=False),
    Column("gone", Integer, nullable=False),
    Column("quality", Integer),
    Column("case_ref", String(CASE_REF_MAX)),
    prefixes=["TEMPORARY"],
)

#: Records a staging statement writes at once (``WalkMerge._write_pending``).
STAGE_BATCH = 50_000

#: SQLite stages a page in one statement from a JSON array of its records: the
#: driver's ``executemany`` releases and retakes the GIL for every row, which the
#: fetching thread (parsing the next page) then holds, and a 1M-record walk spent
#: 10 of its 30 s there. ``json_each`` runs the whole page in C, without the GIL.
_STAGE_JSON = (f"INSERT INTO {_staging.name} (signal, value, gone, quality, case_ref) "
               "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
               "json_extract(value, '$[2]'), json_extract(value, '$[3]'), "
               "json_extract(value, '$[4]') FROM json_each(?)")
_STAGE_ROWS = (f"INSERT INTO {_staging.name} (signal, value, gone, quality, case_ref) "
               "VALUES (%s, %s, %s, %s, %s)")


@dataclass(frozen=True, slots=True)
class StagedPage:
    """A page ready for ``WalkMerge.stage`` (``WalkMerge.prepare``)."""

    size: int
    #: Python hashes of its (signal, value)s, for noticing repeats.
    keys: list[int]
    gone_signals: set[str]
    listed: int
    #: The staging statement's parameters: SQLite's JSON array, PostgreSQL's rows.
    payload: str | list[tuple[Any, ...]]


class WalkMerge:
    """A walk's merges on one connection that keeps a staging table for the walk.

    Pages go to the staging table as they arrive (``stage``), each in a short
    transaction of its own that touches only the temporary table (no lock on the
    store's tables); ``merge`` then moves everything staged into the bank in one
    write transaction with the checkpoint. Staged records wait on disk, not in
    memory, so merges can be large at flat memory: a merge sorts what it inserts
    by hash, and the bank's unique index (keyed on the random hash) takes each
    merge in one ordered pass, whose cost grows with the index, not the merge
    (a 1M-record walk: 17 s of inserts and commits in merges of 50,000, 9 s in
    merges of 250,000). Use ``Store.exchange_walk``."""

    def __init__(self, store: Exchanges, conn: Connection, name: str) -> None:
        self._store = store
        self._conn = conn
        self._name = name
        self._sqlite = conn.dialect.name == "sqlite"
        self.staged = 0
        self._listed = 0
        self._gone_signals: set[str] = set()
        #: Hashes of the staged (signal, value)s: a repeat (rare) makes the merge
        #: keep only the latest of each first; a collision only costs that step.
        self._seen: set[int] = set()
        self._repeats = False
        #: Staged pages not yet written to the staging table (``_write_pending``).
        self._pending: list[str | list[tuple[Any, ...]]] = []
        self._pending_n = 0

    def prepare(self, records: Sequence[Incoming]) -> StagedPage:
        """What ``stage`` needs of a page, worked out without the connection: a sync
        calls it on its fetching thread, so the thread that stages and merges is left
        with the database's work."""
        gone = {r.signal for r in records if r.gone}
        return StagedPage(
            size=len(records),
            keys=[hash((r.signal, r.value)) for r in records],
            gone_signals=gone,
            listed=len(records) - (sum(r.gone for r in records) if gone else 0),
            # SQLite stores a bool as 0/1 and reads JSON true as 1; PostgreSQL wants
            # the integer
            payload=(json.dumps(records) if self._sqlite else
                     [(r.signal, r.value, int(r.gone), r.quality, r.case_ref)
                      for r in records]))

    @database_errors
    def stage(self, records: Sequence[Incoming] | StagedPage) -> None:
        """Add records (or a page ``prepare`` made of them) to what the next ``merge``
        merges (later ones of a hash win)."""
        page = records if isinstance(records, StagedPage) else self.prepare(records)
        if not page.size:
            return
        seen = self._seen
        before = len(seen)
        seen.update(page.keys)
        self._repeats = self._repeats or len(seen) - before < page.size
        self._gone_signals.update(page.gone_signals)
        self._listed += page.listed
        self.staged += page.size
        self._pending.append(page.payload)
        self._pending_n += page.size
        if self._pending_n >= STAGE_BATCH:
            self._write_pending()

    def _write_pending(self) -> None:
        """Staged pages go to the staging table ``STAGE_BATCH`` records at a time: each
        statement gives up the GIL and must take it back, which waits while the
        fetching thread parses a page (tens of ms for 10,000 records, in one call
        that never lets go of it)."""
        pending, self._pending, self._pending_n = self._pending, [], 0
        if not pending:
            return
        if not self._sqlite:
            rows = [r for p in pending if not isinstance(p, str) for r in p]
            # a plain BEGIN (the last merge left the connection set to take the lock)
            with self._conn.execution_options(**{WRITE: False}).begin():
                self._conn.exec_driver_sql(_STAGE_ROWS, rows)
            return
        arrays = [p for p in pending if isinstance(p, str)]
        joined = arrays[0] if len(arrays) == 1 else "[" + ",".join(a[1:-1] for a in arrays) + "]"
        # one statement on the driver's connection, which commits on its own: the
        # temporary table needs no lock on the store's tables, and no BEGIN and
        # COMMIT each give up the GIL and wait to take it back
        if self._conn.in_transaction():
            self._conn.exec_driver_sql(_STAGE_JSON, (joined,))
        else:
            self._conn.connection.dbapi_connection.execute(  # type: ignore[union-attr]
                _STAGE_JSON, (joined,))

    @database_errors
    def merge(self, rejected: Sequence[Rejected], checkpoint: dict[str, Any], *,
              touch: bool = False) -> PageCounts:
        """Merge what was staged and ``rejected``, storing ``checkpoint`` in the same
        transaction (see ``Exchanges.merge_exchange_page``)."""
        conn = self._conn
        counts = PageCounts(rejected=len(rejected))
        now = utcnow()
        source = exchange_source(self._name)
        self._write_pending()
        with self._store._writing_banks(conn) as generation:
            x = conn.execute(select(Exchange.id, Exchange.bank_id, Exchange.counts)
                             .where(Exchange.name == self._name)).one_or_none()
            if x is None:
                raise NotFound(f"no exchange named {self._name!r}")
            exchange_id, bank_id, old_counts = x[0], x[1], x[2]
            if self.staged:
                self._merge_staged(conn, counts, bank_id, source, now, generation, touch)
            if rejected:
                conn.execute(insert(ExchangeReject), [
                    {"exchange_id": exchange_id, "at": now, "reason": r.reason[:300],
                     "record": r.record[:REJECT_RECORD_MAX]} for r in rejected])
                self._store._trim_rejects(conn, exchange_id)
            conn.execute(update(Exchange).where(Exchange.id == exchange_id).values(
                checkpoint=checkpoint, last_fetch_at=now, error=None,
                counts=_add_counts(old_counts or {}, {**counts.as_dict(), "pages": 1,
                                                      "records": self.staged})))
            if counts.added or counts.removed:
                self._store._audit(conn, source, "exchange.merge", exchange=self._name,
                                   added=counts.added, removed=counts.removed,
                                   rejected=counts.rejected)
        self._reset()
        if counts.erased_signals:
            self._store._erased(counts.erased_signals)
        return counts

    def _merge_staged(self, conn: Connection, counts: PageCounts, bank_id: int,
                      source: str, now: datetime, generation: int, touch: bool) -> None:
        st = _staging.c
        listed_n = self._listed
        if self._repeats:
            conn.execute(delete(_staging).where(st.seq.not_in(
                select(func.max(st.seq)).group_by(st.signal, st.value))))
            listed_n = conn.execute(select(func.count()).select_from(_staging)
                                    .where(st.gone == 0)).scalar_one()
        listed = (tuple_(Entry.signal, Entry.value)
                  .in_(select(st.signal, st.value).where(st.gone == 0)))
        dropped = (tuple_(Entry.signal, Entry.value)
                   .in_(select(st.signal, st.value).where(st.gone == 1)))
        mine = (Entry.bank_id == bank_id, Entry.value.is_not(None))
        if self._gone_signals:
            _tombstones(conn, bank_id, and_(*mine, dropped), now)
            counts.removed = conn.execute(update(Entry).where(*mine, dropped).values(
                status=EntryStatus.WITHDRAWN.value, value=None, quality=None,
                updated_at=now, generation=generation)).rowcount
        if counts.removed:
            counts.erased_signals = set(self._gone_signals)
        new = (select(literal(bank_id, BigInteger), st.signal, st.value, st.quality,
                      literal(EntryStatus.ACTIVE.value), literal(source),
                      st.case_ref, literal(source), literal(now, UTCDateTime),
                      literal(now, UTCDateTime), literal(generation, BigInteger))
               .where(st.gone == 0).order_by(st.signal, st.value))
        cols = ["bank_id", "signal", "value", "quality", "status", "source",
                "case_ref", "created_by", "created_at", "updated_at", "generation"]
        add = (_insert(conn).from_select(cols, new)
               .on_conflict_do_nothing(index_elements=["bank_id", "signal", "value"]))
        if conn.dialect.name == "sqlite":
            counts.added = conn.execute(add).rowcount
        else:  # psycopg reports no row count for INSERT … SELECT … ON CONFLICT
            counts.added = len(conn.execute(add.returning(Entry.id)).all())
        counts.unchanged = listed_n - counts.added
        if touch and counts.unchanged:
            conn.execute(update(Entry).where(*mine, listed,
                                             Entry.generation != generation)
                         .values(updated_at=now, generation=generation))
        conn.execute(delete(_staging))

    def _reset(self) -> None:
        self.staged = self._listed = 0
        self._gone_signals = set()
        self._seen = set()
        self._repeats = False


def _tombstones(conn: Connection, bank_id: int, erasing: Any, now: datetime) -> None:
    """Before erasing hashes of a bank this hub shares on (an exchange's list passed
    along), keep them as tombstones so partners learn to delete them too
    (``exchange_feed.write_tombstone`` for set statements)."""
    policy = conn.execute(select(Bank.policy).where(Bank.id == bank_id)).scalar_one()
    if not BankPolicy.stored(policy).share:
        return
    conn.execute(insert(ExchangeTombstone).from_select(
        ["bank_id", "signal", "value", "status", "at"],
        select(Entry.bank_id, Entry.signal, Entry.value, literal("withdrawn"),
               literal(now, UTCDateTime))
        .where(erasing, Entry.value.is_not(None), Entry.signal.in_(FEED_SIGNALS))))


def _insert(conn: Connection) -> Any:
    return (sqlite.insert(Entry) if conn.dialect.name == "sqlite"
            else postgresql.insert(Entry))


def _add_counts(old: dict[str, int], new: dict[str, int]) -> dict[str, int]:
    out = dict(old)
    for k, v in new.items():
        out[k] = out.get(k, 0) + v
    return out


class Exchanges(StoreBase):
    """The ``Store`` methods for exchanges this node pulls from."""

    # -- configuration ------------------------------------------------------------------
    @database_errors
    def add_exchange(self, name: str, *, kind: str, url: str, bank: str,
                     credentials: str | None, actor: str) -> ExchangeRecord:
        """A new exchange pulling into ``bank`` (made, category ``imported``, if
        missing). A bank takes one exchange: what a full refetch no longer finds is
        erased from it, which must never reach another list's entries."""
        actor = check_actor(actor)
        if not _NAME.fullmatch(name):
            raise BadInput(f"exchange name must be 1-{NAME_MAX} letters, digits, '_', '.' "
                           "or '-', starting with a letter or digit")
        if kind not in EXCHANGE_KINDS:
            raise BadInput(f"unknown exchange kind {kind!r}; known: {', '.join(EXCHANGE_KINDS)}")
        if not re.fullmatch(r"https?://[^\s]{1,1990}", url):
            raise BadInput("url must be an http:// or https:// address")
        if not _NAME.fullmatch(bank):
            raise BadInput(f"bank name must be 1-{NAME_MAX} letters, digits, '_', '.' or "
                           "'-', starting with a letter or digit")
        with self._writing() as s:
            b = s.scalars(select(Bank).where(Bank.name == bank)).one_or_none()
            if b is None:
                b = Bank(name=bank, category=Category.IMPORTED.value, policy={},
                         created_by=actor, created_at=utcnow())
                s.add(b)
                s.flush()
                self._audit(s, actor, "bank.create", bank=bank, category=b.category,
                            policy={})
            if b.category != Category.IMPORTED:
                raise Conflict(f"bank {bank!r} is {b.category}; an exchange fills a bank of "
                               "category imported", code="exchange.bank_category")
            if s.scalar(select(Exchange.id).where(Exchange.name == name)) is not None:
                raise Conflict(f"an exchange named {name!r} already exists")
            other = s.scalar(select(Exchange.name).where(Exchange.bank_id == b.id))
            if other is not None:
                raise Conflict(f"bank {bank!r} is filled by exchange {other!r} already; "
                               "give each exchange a bank of its own",
                               code="exchange.bank_taken")
            x = Exchange(name=name, kind=kind, url=url, bank_id=b.id, credentials=credentials,
                         enabled=True, checkpoint=None, counts={}, created_by=actor,
                         created_at=utcnow())
            s.add(x)
            s.flush()
            self._audit(s, actor, "exchange.add", bank=bank, exchange=name, kind=kind,
                        url=url)
            return _record(x, bank)

    def _exchange(self, s: Any, name: str) -> tuple[Exchange, str]:
        row = s.execute(select(Exchange, Bank.name).join(Bank, Bank.id == Exchange.bank_id)
                        .where(Exchange.name == name)).one_or_none()
        if row is None:
            raise NotFound(f"no exchange named {name!r}")
        return row[0], row[1]

    @database_errors
    def get_exchange(self, name: str) -> ExchangeRecord:
        with self._reading() as s:
            x, bank = self._exchange(s, name)
            return _record(x, bank)

    @database_errors
    def list_exchanges(self) -> list[ExchangeRecord]:
        with self._reading() as s:
            rows = s.execute(select(Exchange, Bank.name).join(Bank, Bank.id == Exchange.bank_id)
                             .order_by(Exchange.name)).all()
            return [_record(x, bank) for x, bank in rows]

    @database_errors
    def set_exchange_enabled(self, name: str, enabled: bool, *, actor: str) -> ExchangeRecord:
        actor = check_actor(actor)
        with self._writing(topic=None) as s:
            x, bank = self._exchange(s, name)
            x.enabled = enabled
            self._audit(s, actor, "exchange.enable" if enabled else "exchange.disable",
                        bank=bank, exchange=name)
            s.flush()
            return _record(x, bank)

    @database_errors
    def request_full_walk(self, name: str, *, actor: str) -> None:
        """The next sync walks the peer's whole list (and erases what it no longer
        lists): after the peer shared more with this node, or to check its state."""
        actor = check_actor(actor)
        with self._writing(topic=None) as s:
            x, bank = self._exchange(s, name)
            x.checkpoint = {**(x.checkpoint or {}), "full_walk": True}
            self._audit(s, actor, "exchange.refetch", bank=bank, exchange=name)

    @database_errors
    def remove_exchange(self, name: str, *, actor: str) -> None:
        """Stop pulling (the bank and its entries stay: remove or disable the bank for
        that)."""
        actor = check_actor(actor)
        with self._writing(topic=None) as s:
            x, bank = self._exchange(s, name)
            s.execute(delete(ExchangeReject).where(ExchangeReject.exchange_id == x.id))
            s.delete(x)
            self._audit(s, actor, "exchange.remove", bank=bank, exchange=name)

    # -- sync ---------------------------------------------------------------------------
    @database_errors
    def claim_exchange(self, name: str, holder: str, *, lease_s: float,
                       due_s: float = 0.0) -> bool:
        """Take the right to sync ``name`` for ``lease_s`` seconds, if no other holder's
        lease runs and (``due_s``) its last fetch is at least that old; a conditional
        update, so of several nodes exactly one wins."""
        now = utcnow()
        free = or_(Exchange.lease_until.is_(None), Exchange.lease_until < now,
                   Exchange.lease_holder == holder)
        due = or_(Exchange.last_fetch_at.is_(None),
                  Exchange.last_fetch_at <= now - timedelta(seconds=due_s))
        with self._writing(topic=None) as s:
            won = s.connection().execute(update(Exchange).where(
                Exchange.name == name, Exchange.enabled.is_(True), free, due).values(
                lease_holder=holder[:100],
                lease_until=now + timedelta(seconds=lease_s))).rowcount
        return bool(won)

    @database_errors
    def release_exchange(self, name: str, holder: str) -> None:
        with self._writing(topic=None) as s:
            s.execute(update(Exchange).where(Exchange.name == name,
                                             Exchange.lease_holder == holder)
                      .values(lease_holder=None, lease_until=None))

    @database_errors
    def record_exchange_fetch(self, name: str, *, error: str | None,
                              checkpoint: dict[str, Any] | None = None,
                              success: bool = False) -> None:
        """The outcome of a sync that merged nothing more (an error, or the end of a
        walk with its final checkpoint)."""
        now = utcnow()
        with self._writing(topic=None) as s:
            x, _ = self._exchange(s, name)
            x.last_fetch_at = now
            x.error = None if error is None else error[:500]
            if checkpoint is not None:
                x.checkpoint = checkpoint
            if success:
                x.last_success_at = now

    @contextmanager
    def exchange_walk(self, name: str) -> Iterator[WalkMerge]:
        """A walk's merges into exchange ``name``'s bank (``WalkMerge``): one
        connection and its staging table for the whole walk. What is staged and not
        merged when it ends is dropped, never merged."""
        conn = self._walk_connection()
        try:
            yield WalkMerge(self, conn, name)
        finally:
            self._end_walk(conn)

    @database_errors
    def _walk_connection(self) -> Connection:
        conn = self.engine.connect()
        try:
            with conn.begin():
                # left by a walk that failed on this pooled connection
                _staging.drop(conn, checkfirst=True)
                _staging.create(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    @database_errors
    def _end_walk(self, conn: Connection) -> None:
        try:
            if conn.in_transaction():
                conn.rollback()
            with conn.execution_options(**{WRITE: False}).begin():
                _staging.drop(conn, checkfirst=True)
        finally:
            conn.close()

    @database_errors
    def merge_exchange_page(self, name: str, records: Sequence[Incoming],
                            rejected: Sequence[Rejected], checkpoint: dict[str, Any], *,
                            touch: bool = False) -> PageCounts:
        """Merge one page and store ``checkpoint`` in the same transaction.

        Later records of the same hash replace earlier ones. ``touch``: the page
        belongs to a full walk, so entries it lists are stamped even when unchanged
        (the walk's end erases those it did not stamp). An entry an admin disabled or
        someone disputes stays so, whatever the peer says of it.

        The page goes to a temporary staging table, then three set statements do
        the work: measured, per-row Core statements merged about 8,000 records a
        second, far below a hub's pace. A walk of many pages stages them all on one
        connection instead (``exchange_walk``)."""
        with self.exchange_walk(name) as walk:
            walk.stage(records)
            return walk.merge(rejected, checkpoint, touch=touch)

    def _trim_rejects(self, conn: Connection, exchange_id: int) -> None:
        keep = self.settings.exchange.max_rejects
        cutoff = conn.execute(
            select(ExchangeReject.id).where(ExchangeReject.exchange_id == exchange_id)
            .order_by(ExchangeReject.id.desc()).offset(keep).limit(1)).scalar_one_or_none()
        if cutoff is not None:
            conn.execute(delete(ExchangeReject).where(ExchangeReject.exchange_id == exchange_id,
                                                      ExchangeReject.id <= cutoff))

    @database_errors
    def finish_full_walk(self, name: str, *, started_at: datetime,
                         checkpoint: dict[str, Any]) -> int:
        """End a full walk begun at ``started_at``: erase every entry of the exchange
        that no page of the walk stamped (the peer no longer lists it), and store the
        walk's final checkpoint. Returns how many were erased."""
        now = utcnow()
        erased: set[str] = set()
        with self.engine.connect() as conn, self._writing_banks(conn) as generation:
            row = conn.execute(select(Exchange.id, Exchange.bank_id, Exchange.counts)
                               .where(Exchange.name == name)).one_or_none()
            if row is None:
                raise NotFound(f"no exchange named {name!r}")
            stale = and_(Entry.bank_id == row[1], Entry.source == exchange_source(name),
                         Entry.status != EntryStatus.WITHDRAWN.value,
                         Entry.updated_at < started_at)
            erased = {s for (s,) in conn.execute(select(Entry.signal).where(stale).distinct())}
            _tombstones(conn, row[1], stale, now)
            removed = conn.execute(update(Entry).where(stale).values(
                status=EntryStatus.WITHDRAWN.value, value=None, quality=None,
                updated_at=now, generation=literal(generation, BigInteger))).rowcount
            conn.execute(update(Exchange).where(Exchange.id == row[0]).values(
                checkpoint=checkpoint, last_fetch_at=now, last_success_at=now, error=None,
                counts=_add_counts(row[2] or {}, {"removed": removed})))
            if removed:
                self._audit(conn, exchange_source(name), "exchange.sweep", exchange=name,
                            removed=removed)
        if erased:
            self._erased(erased)
        return removed

    @database_errors
    def exchange_rejects(self, name: str, *, limit: int = 100) -> list[RejectRecord]:
        """The newest records the exchange sent that were refused, newest first."""
        with self._reading() as s:
            x, _ = self._exchange(s, name)
            rows = s.scalars(select(ExchangeReject).where(ExchangeReject.exchange_id == x.id)
                             .order_by(ExchangeReject.id.desc()).limit(max(0, limit)))
            return [RejectRecord(r.id, r.at, r.reason, r.record) for r in rows]

    # -- feedback to the peer ----------------------------------------------------------
    @database_errors
    def exchange_feedback_due(self, name: str, *, limit: int = 500) -> list[OutgoingFeedback]:
        """Pending notes on entries this exchange brought, oldest first."""
        with self._reading() as s:
            x, _ = self._exchange(s, name)
            rows = s.execute(
                select(SourceFeedback.id, Entry.signal, Entry.value, SourceFeedback.kind)
                .join(Entry, Entry.id == SourceFeedback.entry_id)
                .where(SourceFeedback.status == FeedbackStatus.PENDING.value,
                       Entry.bank_id == x.bank_id, Entry.source == exchange_source(name),
                       Entry.value.is_not(None))
                .order_by(SourceFeedback.id).limit(limit)).all()
            return [OutgoingFeedback(i, sig, str(val), kind) for i, sig, val, kind in rows]

    @database_errors
    def mark_feedback_sent(self, ids: Iterable[int]) -> int:
        wanted = sorted(set(ids))
        if not wanted:
            return 0
        now = utcnow()
        done = 0
        with self._writing(topic=None) as s:
            for i in range(0, len(wanted), _CHUNK):
                done += s.connection().execute(update(SourceFeedback).where(
                    SourceFeedback.id.in_(wanted[i:i + _CHUNK]),
                    SourceFeedback.status == FeedbackStatus.PENDING.value)
                    .values(status=FeedbackStatus.SENT.value, updated_at=now)).rowcount
        return done

    @database_errors
    def exchange_entry_count(self, name: str) -> int:
        """Entries the exchange brought that still hold a hash."""
        with self._reading() as s:
            x, _ = self._exchange(s, name)
            return int(s.scalar(select(func.count()).select_from(Entry).where(
                Entry.bank_id == x.bank_id, Entry.source == exchange_source(name),
                Entry.value.is_not(None))) or 0)


def dumps_record(raw: object) -> str:
    """A refused record as kept: compact JSON where it is JSON, else its repr."""
    try:
        return json.dumps(raw, separators=(",", ":"), ensure_ascii=False,
                          default=str)[:REJECT_RECORD_MAX]
    except (TypeError, ValueError):
        return repr(raw)[:REJECT_RECORD_MAX]
