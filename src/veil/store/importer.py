"""Bulk import of hash-list rows into one bank: all rows or none.

The rows stream, once, into a temporary staging table on the import's own
connection, checked on the way. Only when every row is good does one transaction
move them into the bank with a single ``INSERT … SELECT … ORDER BY``; a bad row
drops the staging table and the bank is never touched. This keeps

* memory flat: rows go to the database in batches of ``import_batch_rows``;
* the bank unlocked while the input is read (a temporary table needs no write
  lock on the main database), so other writers wait only for the final move;
* the unique index fast: rows arrive in index order rather than at random
  (at 1M rows, random-order inserts were several times slower on SQLite);
* duplicates cheap: repeats within the input and entries already in the bank are
  skipped by the unique constraint (``ON CONFLICT DO NOTHING``), not a set in memory.

In a bank that keeps holders (victim_submitted), the same transaction records the
import as a holder (``EntryHolder``) of every value it carried, new or already there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite

from veil.errors import StoreError
from veil.store.coltypes import UTCDateTime
from veil.store.models import HOLDER_IMPORT, SOURCE_MAX, Entry, EntryHolder
from veil.store.rows import HashRow, RowError
from veil.store.vocabulary import Category, EntryStatus

_ALLOW = Category.ALLOWLIST.value

_staging = Table(
    "veil_import_staging",
    MetaData(),
    Column("signal", String(32), nullable=False),
    Column("value", String(128), nullable=False),
    Column("quality", Integer),
    Column("source", String(SOURCE_MAX)),
    Column("note", Text),
    prefixes=["TEMPORARY"],
)
_STAGED = ("signal", "value", "quality", "source", "note")


@dataclass
class RowChecks:
    """Counts rows and keeps the first ``max_errors`` errors of one pass over an input."""

    bank_category: str
    max_errors: int
    rows: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)

    def check(self, row: HashRow | RowError) -> HashRow | None:
        if isinstance(row, HashRow) and row.category is not None and (
            (row.category == _ALLOW) != (self.bank_category == _ALLOW)
        ):
            # An allowlist lets media through: a blocking hash landing in one (or an
            # allowlisted hash in a blocking bank) would silently invert a decision.
            row = RowError(row.line, f"a row of category {row.category} cannot go into a "
                                     f"bank of category {self.bank_category}")
        if isinstance(row, RowError):
            self.error_count += 1
            if len(self.errors) < self.max_errors:
                self.errors.append(row)
            return None
        self.rows += 1
        return row


def _placeholders(conn: Connection, n: int) -> str | None:
    style = conn.dialect.paramstyle
    if style == "qmark":
        return ", ".join("?" * n)
    if style in ("format", "pyformat"):
        return ", ".join(["%s"] * n)
    return None


def stage(conn: Connection, rows: Iterable[HashRow | RowError], checks: RowChecks,
          batch_rows: int) -> None:
    """Create the staging table on ``conn`` and fill it with the valid rows.

    Reads every row even after a bad one, so the report can list them all; from
    the first bad row on nothing more is staged. Runs in the caller's transaction.
    """
    _staging.drop(conn, checkfirst=True)  # a previous import on this pooled connection
    _staging.create(conn)
    marks = _placeholders(conn, len(_STAGED))
    if marks is not None:
        # the driver's executemany on plain tuples: several times less per-row work
        # than Core's parameter processing, and this loop runs once per row
        sql = f"INSERT INTO {_staging.name} ({', '.join(_STAGED)}) VALUES ({marks})"

        def flush(batch: Sequence[tuple[object, ...]]) -> None:
            conn.exec_driver_sql(sql, list(batch))
    else:
        stmt = _staging.insert()

        def flush(batch: Sequence[tuple[object, ...]]) -> None:
            conn.execute(stmt, [dict(zip(_STAGED, r, strict=True)) for r in batch])

    batch: list[tuple[object, ...]] = []
    for raw in rows:
        row = checks.check(raw)
        if row is None or checks.error_count:
            continue
        batch.append((row.signal, row.value, row.quality, row.source, row.note))
        if len(batch) >= batch_rows:
            flush(batch)
            batch = []
    if batch and not checks.error_count:
        flush(batch)


def drop_staging(conn: Connection) -> None:
    _staging.drop(conn, checkfirst=True)


def _insert(conn: Connection) -> sqlite.Insert | postgresql.Insert:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(Entry)
    if dialect == "postgresql":
        return postgresql.insert(Entry)
    raise StoreError(f"bulk import is not supported on {dialect} (use SQLite or PostgreSQL)")


def merge(conn: Connection, *, bank_id: int, actor: str, now: datetime,
          generation: int) -> int:
    """Move the staged rows into the bank, in index order; returns how many were new.

    ``generation``: the store generation the move's transaction took (the rows are
    stamped with it, for the change feed)."""
    s = _staging.c
    source = (
        select(
            literal(bank_id), s.signal, s.value, s.quality,
            literal(EntryStatus.ACTIVE.value), s.source, s.note, literal(actor),
            literal(now, UTCDateTime), literal(now, UTCDateTime),
            literal(generation, BigInteger),
        )
        # SQLite needs a WHERE before ON CONFLICT to parse INSERT … SELECT … ON CONFLICT
        .where(true())
        .order_by(s.signal, s.value)
    )
    cols = ["bank_id", "signal", "value", "quality", "status", "source", "note",
            "created_by", "created_at", "updated_at", "generation"]
    stmt = _insert(conn).from_select(cols, source).on_conflict_do_nothing(
        index_elements=["bank_id", "signal", "value"])
    def bank_size() -> int:
        return int(conn.scalar(select(func.count()).select_from(Entry)
                               .where(Entry.bank_id == bank_id)) or 0)

    # psycopg reports rowcount -1 for INSERT … SELECT … ON CONFLICT; count instead
    before = bank_size() if conn.dialect.name != "sqlite" else 0
    inserted = conn.execute(stmt).rowcount
    return inserted if inserted >= 0 else bank_size() - before


def hold(conn: Connection, *, bank_id: int, now: datetime) -> None:
    """The import holds every staged value: the new entries and those the bank had
    (a case that submitted one of them can no longer erase it alone)."""
    s = _staging.c
    source = (
        select(Entry.id, literal(HOLDER_IMPORT), literal(now, UTCDateTime))
        .select_from(_staging.join(Entry, (Entry.signal == s.signal) & (Entry.value == s.value)))
        .where(Entry.bank_id == bank_id)
        .order_by(Entry.id)
    )
    ins = sqlite.insert(EntryHolder) if conn.dialect.name == "sqlite" else postgresql.insert(
        EntryHolder)
    conn.execute(ins.from_select(["entry_id", "holder", "created_at"], source)
                 .on_conflict_do_nothing(index_elements=["entry_id", "holder"]))
