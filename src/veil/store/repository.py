"""``Store``: the one API the rest of Veil uses to read and change banks.

Every change runs in one transaction that also appends its audit event and bumps
the store generation (``watermark``), so an index built from ``iter_active`` can
tell cheaply whether it is stale.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from veil.errors import BadInput, Conflict, NotFound, StoreError
from veil.signals import get as get_signal
from veil.store import importer
from veil.store.cases import Cases
from veil.store.coltypes import utcnow
from veil.store.exchange_feed import ExchangeFeed, sharing_changed, write_tombstone
from veil.store.exchanges import Exchanges
from veil.store.keys import ApiKeys
from veil.store.models import (
    CASE_REF_MAX,
    HOLDER_ADD,
    NAME_MAX,
    REASON_MAX,
    AuditEvent,
    Bank,
    Entry,
    EntryHolder,
    Quarantine,
    SourceFeedback,
    StoreState,
    keeps_holders,
)
from veil.store.outbox import Outbox
from veil.store.policy import BankPolicy
from veil.store.records import (
    ActiveEntry,
    AuditRecord,
    BankInfo,
    EntryChange,
    EntryKey,
    EntryRecord,
    FeedbackRecord,
    ImportReport,
    QuarantineRecord,
)
from veil.store.regions import Regions
from veil.store.review_sessions import ReviewSessions
from veil.store.reviews import ReviewItems
from veil.store.rows import HashRow, RowError, RowValidator
from veil.store.transactions import check_actor, database_errors
from veil.store.videos import Videos
from veil.store.vocabulary import (
    Category,
    EntryStatus,
    FeedbackStatus,
    QuarantineKind,
    QuarantineStatus,
    choices,
    from_a_list,
)
from veil.store.webhooks import Webhooks

log = logging.getLogger(__name__)

_BANK_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{NAME_MAX - 1}}}")
#: Rows fetched per round trip when streaming (iter_active, export_entries).
STREAM_ROWS = 10_000
#: Bad rows kept in an ImportReport by default (all are counted).
MAX_IMPORT_ERRORS = 1000

def _reason(reason: str | None) -> str | None:
    if reason is not None and len(reason) > REASON_MAX:
        raise BadInput(f"reason must be at most {REASON_MAX} characters")
    return reason


def _quarantine_record(q: Quarantine) -> QuarantineRecord:
    return QuarantineRecord(id=q.id, kind=q.kind, bank=q.bank, entry_id=q.entry_id,
                            status=q.status, detail=dict(q.detail), created_at=q.created_at,
                            decided_by=q.decided_by, decided_at=q.decided_at,
                            decision_reason=q.decision_reason)


class _RollBack(Exception):
    """Raised inside a write transaction to undo it without an error to report."""


def _entry_record(e: Entry, bank: str) -> EntryRecord:
    return EntryRecord(
        id=e.id, bank=bank, signal=e.signal, value=e.value, quality=e.quality,
        status=e.status, source=e.source, note=e.note, case_ref=e.case_ref,
        created_by=e.created_by, created_at=e.created_at, updated_at=e.updated_at,
    )


class Store(ApiKeys, Cases, Webhooks, Outbox, ReviewItems, ReviewSessions, Videos,
            Exchanges, ExchangeFeed, Regions):
    """Banks, entries and the audit log behind one engine. Use ``open_store`` to make one.

    API keys (``keys``), victims' cases (``cases``), webhook subscriptions (``webhooks``),
    the webhook outbox (``outbox``), review items (``reviews``), reviewer page sessions
    (``review_sessions``), the hub's exchange feed (``exchange_feed``) and region
    signals (``regions``) are mixed in from their modules.
    """

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _bank(s: Session, name: str) -> Bank:
        bank = s.scalars(select(Bank).where(Bank.name == name)).one_or_none()
        if bank is None:
            raise NotFound(f"no bank named {name!r}")
        return bank

    # -- banks ------------------------------------------------------------------------
    @database_errors
    def create_bank(self, name: str, category: str, policy: dict[str, Any] | None = None,
                    *, actor: str) -> BankInfo:
        """A new, empty bank. ``policy``: a ``BankPolicy`` as a dict, e.g.
        ``{"action": "review", "thresholds": {"pdq": 20}}``; without an action the
        category's default applies (``veil.verdict.DEFAULT_ACTION``)."""
        if not _BANK_NAME.fullmatch(name):
            raise BadInput(f"bank name must be 1-{NAME_MAX} letters, digits, '_', '.' or '-', "
                           "starting with a letter or digit")
        if category not in set(Category):
            raise BadInput(f"unknown category {category!r}; known: {choices(Category)}")
        policy = BankPolicy.parse(policy).checked(self.settings).as_stored()
        actor = check_actor(actor)
        try:
            with self._writing() as s:
                if s.scalar(select(Bank.id).where(Bank.name == name)) is not None:
                    raise Conflict(f"a bank named {name!r} already exists")
                bank = Bank(name=name, category=category, policy=policy, created_by=actor,
                            created_at=utcnow())
                s.add(bank)
                self._audit(s, actor, "bank.create", bank=name, category=category,
                            policy=policy)
                s.flush()
                info = self._info(bank, {})
        except IntegrityError as exc:  # created concurrently
            raise Conflict(f"a bank named {name!r} already exists") from exc
        log.info("bank created", extra={"bank": name, "category": category})
        return info

    @staticmethod
    def _info(bank: Bank, counts: dict[str, int] | None) -> BankInfo:
        return BankInfo(
            id=bank.id, name=bank.name, category=bank.category, policy=dict(bank.policy),
            created_at=bank.created_at, created_by=bank.created_by,
            counts={} if counts is None else {s.value: counts.get(s.value, 0)
                                              for s in EntryStatus},
        )

    def _counts(self, s: Session, bank_id: int | None = None) -> dict[int, dict[str, int]]:
        q = select(Entry.bank_id, Entry.status, func.count()).group_by(Entry.bank_id,
                                                                       Entry.status)
        if bank_id is not None:
            q = q.where(Entry.bank_id == bank_id)
        out: dict[int, dict[str, int]] = {}
        for bid, status, n in s.execute(q):
            out.setdefault(bid, {})[status] = n
        return out

    @database_errors
    def list_banks(self, *, counts: bool = True) -> list[BankInfo]:
        """Every bank, by name, with its entry counts per status; ``counts=False``
        leaves them empty (a matcher reloading policies: counting scans every entry,
        seconds at millions)."""
        with self._reading() as s:
            per_bank = self._counts(s) if counts else {}
            banks = s.scalars(select(Bank).order_by(Bank.name)).all()
            return [self._info(b, per_bank.get(b.id, {}) if counts else None) for b in banks]

    @database_errors
    def get_bank(self, name: str) -> BankInfo:
        """One bank with its counts; raises ``NotFound``."""
        with self._reading() as s:
            bank = self._bank(s, name)
            return self._info(bank, self._counts(s, bank.id).get(bank.id, {}))

    @database_errors
    def update_bank_policy(self, name: str, policy: dict[str, Any], *, actor: str,
                           merge: bool = False) -> BankInfo:
        """Replace a bank's policy (e.g. ``{"action": "block"}``), or with ``merge``
        change only the fields given (a ``None`` value resets one to its default).
        Raises ``BadInput`` for a policy ``BankPolicy`` refuses or a threshold above
        the service's cap."""
        replacement = None if merge else BankPolicy.parse(policy).checked(self.settings)
        actor = check_actor(actor)
        with self._writing() as s:
            bank = self._bank(s, name)
            previous = dict(bank.policy)
            new = (BankPolicy.stored(previous).merged(dict(policy)) if replacement is None
                   else replacement)
            policy = new.checked(self.settings).as_stored()
            if new.share != BankPolicy.stored(previous).share:
                sharing_changed(s, bank, shared=new.share)
            bank.policy = policy
            self._audit(s, actor, "bank.policy", bank=name, previous=previous, policy=policy)
            s.flush()
            return self._info(bank, self._counts(s, bank.id).get(bank.id, {}))

    # -- entries ------------------------------------------------------------------------
    @database_errors
    def list_entries(self, *, status: str | None = None, bank: str | None = None,
                     after_id: int | None = None, limit: int = 100) -> list[EntryRecord]:
        """Entries in id order (page on with ``after_id`` = the last id seen)."""
        q = select(Entry, Bank.name).join(Bank).order_by(Entry.id).limit(max(0, limit))
        if status is not None:
            q = q.where(Entry.status == status)
        if bank is not None:
            q = q.where(Bank.name == bank)
        if after_id is not None:
            q = q.where(Entry.id > after_id)
        with self._reading() as s:
            return [_entry_record(e, b) for e, b in s.execute(q)]

    @database_errors
    def add_entry(self, bank: str, signal: str, value: str, *, actor: str,
                  quality: int | None = None, source: str | None = None,
                  note: str | None = None, case_ref: str | None = None) -> EntryRecord:
        """Add one hash. Raises ``BadHash``/``UnknownSignal``/``BadInput`` for bad values,
        ``NotFound`` for an unknown bank, ``Conflict`` when the bank already has it.

        ``case_ref`` names the case (its id), never the case's secret token: it is
        stored and audited in clear.
        """
        # the signal's own errors first (BadHash, UnknownSignal), then the other fields
        get_signal(signal.strip().lower()).parse(value)
        row = RowValidator()({"signal": signal, "value": value, "quality": quality,
                              "source": source, "note": note}, None)
        if isinstance(row, RowError):
            raise BadInput(row.message)
        if case_ref is not None and not 0 < len(case_ref) <= CASE_REF_MAX:
            raise BadInput(f"case_ref must be 1-{CASE_REF_MAX} characters")
        actor = check_actor(actor)
        now = utcnow()
        try:
            with self._writing() as s:
                b = self._bank(s, bank)
                existing = s.scalar(select(Entry.id).where(
                    Entry.bank_id == b.id, Entry.signal == row.signal, Entry.value == row.value))
                if existing is not None:
                    raise Conflict(f"bank {bank!r} already has this {row.signal} hash "
                                   f"(entry {existing})")
                e = Entry(bank_id=b.id, signal=row.signal, value=row.value, quality=row.quality,
                          status=EntryStatus.ACTIVE.value, source=row.source, note=row.note,
                          case_ref=case_ref, created_by=actor, created_at=now, updated_at=now)
                s.add(e)
                s.flush()
                if keeps_holders(b.category):
                    # held by this add: a case that submits the value cannot erase it
                    s.add(EntryHolder(entry_id=e.id, holder=HOLDER_ADD, case_id=None,
                                      created_at=now))
                self._audit(s, actor, "entry.add", bank=bank, entry_id=e.id,
                            signal=row.signal, source=row.source, case_ref=case_ref)
                record = _entry_record(e, bank)
        except IntegrityError as exc:
            raise Conflict(f"bank {bank!r} already has this {row.signal} hash") from exc
        return record

    @database_errors
    def get_entry(self, entry_id: int) -> EntryRecord:
        with self._reading() as s:
            found = s.execute(select(Entry, Bank.name).join(Bank)
                              .where(Entry.id == entry_id)).one_or_none()
            if found is None:
                raise NotFound(f"no entry {entry_id}")
            return _entry_record(found[0], found[1])

    @database_errors
    def import_entries(self, bank: str, rows: Iterable[HashRow | RowError], *, actor: str,
                       source_name: str | None = None,
                       max_errors: int = MAX_IMPORT_ERRORS) -> ImportReport:
        """Add many rows to ``bank``: all of them, or none if any row is bad.

        ``rows`` is read once, streaming (see ``importer``); every row is checked
        before the bank is touched, and a bad input leaves the bank as it was. The
        report lists the first ``max_errors`` bad rows and counts them all.
        Duplicates, within the input or of entries already in the bank, are
        counted and skipped.
        """
        actor = check_actor(actor)
        info = self.get_bank(bank)
        checks = importer.RowChecks(info.category, max_errors)
        with self.engine.connect() as conn:
            try:
                with conn.begin():
                    importer.stage(conn, rows, checks, self.settings.import_batch_rows)
                    if checks.error_count:
                        raise _RollBack  # also drops the staging table
            except _RollBack:
                return ImportReport(bank=bank, rows=checks.rows, imported=0, duplicates=0,
                                    errors=tuple(checks.errors),
                                    error_count=checks.error_count)
            try:
                with self._writing_banks(conn) as generation:
                    bank_id = conn.execute(select(Bank.id).where(Bank.name == bank)
                                           ).scalar_one_or_none()
                    if bank_id is None:
                        raise NotFound(f"no bank named {bank!r}")
                    now = utcnow()
                    imported = importer.merge(conn, bank_id=bank_id, actor=actor,
                                              now=now, generation=generation)
                    if keeps_holders(info.category):
                        importer.hold(conn, bank_id=bank_id, now=now)
                    report = ImportReport(bank=bank, rows=checks.rows, imported=imported,
                                          duplicates=checks.rows - imported)
                    self._audit(conn, actor, "bank.import", bank=bank, rows=report.rows,
                                imported=imported, duplicates=report.duplicates,
                                source=source_name)
                    importer.drop_staging(conn)
            except BaseException:
                # the staging table outlives a failed move; closing the connection
                # drops it instead of handing it back to the pool
                conn.invalidate()
                raise
        log.info("bank import", extra={"bank": bank, "imported": imported,
                                       "duplicates": report.duplicates})
        return report

    def export_entries(self, bank: str) -> Iterator[HashRow]:
        """Stream the active entries of ``bank`` in id order, as importable rows.

        Withdrawn entries have no value left and disputed ones are not to be
        relied on, so neither is exported. Raises ``NotFound`` on first use.
        """
        info = self.get_bank(bank)
        q = (select(Entry.signal, Entry.value, Entry.quality, Entry.source, Entry.note)
             .where(Entry.bank_id == info.id, Entry.status == EntryStatus.ACTIVE.value)
             .order_by(Entry.id))
        for signal, value, quality, source, note in self._stream(q):
            yield HashRow(signal=signal, value=value, quality=quality, category=info.category,
                          source=source, note=note)

    def _stream(self, q: Executable) -> Iterator[Any]:
        # One read transaction for the whole stream: a consistent snapshot, and on
        # SQLite (WAL) writers are not held up meanwhile.
        try:
            with self.engine.connect() as conn:
                yield from conn.execution_options(yield_per=STREAM_ROWS).execute(q)
        except OperationalError as exc:
            raise StoreError(f"database unavailable: {exc.orig}",
                             code="store.unavailable") from exc

    def iter_active(self, signal: str) -> Iterator[ActiveEntry]:
        """Every active entry of one signal type, across all banks, in no set order.

        Streams (memory does not grow with the banks). To detect staleness, read
        ``watermark()`` *before* starting: a change that lands meanwhile then shows
        as a newer watermark, never as a missed one.
        """
        name = get_signal(signal).name
        q = (select(Entry.id, Bank.name, Bank.category, Entry.value, Entry.quality)
             .join(Bank, Entry.bank_id == Bank.id)
             .where(Entry.signal == name, Entry.status == EntryStatus.ACTIVE.value))
        return map(ActiveEntry._make, self._stream(q))

    def changes(self, signal: str, *, after: int, upto: int) -> Iterator[EntryChange]:
        """The change feed: every entry of one signal type whose last change has a
        generation in ``(after, upto]``, in its current state, in no set order.

        A process holding an index built at watermark ``after`` reads ``upto =
        watermark()`` first, then applies these rows (active ones added or replaced,
        the others removed) and is then current as of ``upto``: generations commit
        in order, so no row stamped ``<= upto`` can still be in flight.
        """
        name = get_signal(signal).name
        q = (select(Entry.id, Bank.name, Bank.category, Entry.value, Entry.quality,
                    Entry.status, Entry.generation)
             .join(Bank, Entry.bank_id == Bank.id)
             .where(Entry.signal == name, Entry.generation > after,
                    Entry.generation <= upto))
        return map(EntryChange._make, self._stream(q))

    @database_errors
    def watermark(self) -> int:
        """A number that goes up with every committed change to any bank or entry."""
        with self.engine.connect() as conn:
            return conn.execute(select(StoreState.generation)
                                .where(StoreState.id == 1)).scalar_one()

    @database_errors
    def identity(self) -> str:
        """This store's random id (set once when its schema was created): an index
        snapshot records it, and is caught up only by the store that wrote it."""
        with self.engine.connect() as conn:
            return conn.execute(select(StoreState.identity)
                                .where(StoreState.id == 1)).scalar_one()

    def _find(self, s: Session, target: int | EntryKey | tuple[str, str, str]) -> Entry:
        if isinstance(target, int):
            e = s.get(Entry, target)
            if e is None:
                raise NotFound(f"no entry {target}")
            return e
        key = EntryKey(*target)
        st = get_signal(key.signal.strip().lower())
        value = st.parse(key.value)
        b = self._bank(s, key.bank)
        e = s.scalars(select(Entry).where(Entry.bank_id == b.id, Entry.signal == st.name,
                                          Entry.value == value)).one_or_none()
        if e is None:
            raise NotFound(f"bank {key.bank!r} has no {st.name} entry with that value")
        return e

    @database_errors
    def withdraw(self, target: int | EntryKey | tuple[str, str, str], *, actor: str,
                 reason: str | None = None) -> EntryRecord:
        """A victim's withdrawal: the entry stays (status ``withdrawn``) but its hash is
        erased, and the audit log records who and why (never the hash).

        ``target`` is an entry id or ``EntryKey(bank, signal, value)``.
        """
        actor = check_actor(actor)
        with self._writing() as s:
            e = self._find(s, target)
            if e.status == EntryStatus.WITHDRAWN:
                raise Conflict(f"entry {e.id} is already withdrawn")
            bank = s.scalar(select(Bank.name).where(Bank.id == e.bank_id)) or ""
            previous = e.status
            write_tombstone(s, e)  # partners that fetched it learn to delete it
            e.status = EntryStatus.WITHDRAWN.value
            e.value = None
            e.quality = None
            e.updated_at = utcnow()
            self._audit(s, actor, "entry.withdraw", bank=bank, entry_id=e.id,
                        signal=e.signal, previous_status=previous, reason=reason)
            s.flush()
            record = _entry_record(e, bank)
        log.info("entry withdrawn", extra={"bank": bank, "entry_id": record.id})
        return record

    @database_errors
    def set_status(self, entry_id: int, status: str, *, actor: str,
                   reason: str | None = None) -> EntryRecord:
        """Move an entry between ``active`` and ``disputed`` (withdrawal is ``withdraw``,
        turning a false positive off is ``disable_entry``)."""
        if status not in (EntryStatus.ACTIVE, EntryStatus.DISPUTED):
            raise BadInput("status must be active or disputed; use withdraw to withdraw")
        actor = check_actor(actor)
        with self._writing() as s:
            e = self._find(s, entry_id)
            if e.status == EntryStatus.WITHDRAWN:
                raise Conflict(f"entry {e.id} is withdrawn; its hash is gone")
            if e.status == EntryStatus.DISABLED:
                raise Conflict(f"entry {e.id} is disabled; enable it first")
            bank = s.scalar(select(Bank.name).where(Bank.id == e.bank_id)) or ""
            previous = e.status
            e.status = status
            e.updated_at = utcnow()
            self._audit(s, actor, "entry.status", bank=bank, entry_id=e.id,
                        previous_status=previous, status=status, reason=reason)
            s.flush()
            return _entry_record(e, bank)

    # -- false positives: disabling entries, feedback to their source -------------------
    @database_errors
    def disable_entry(self, target: int | EntryKey | tuple[str, str, str], *, actor: str,
                      reason: str | None = None) -> EntryRecord:
        """Turn a false positive off without deleting it: status ``disabled``, so it
        leaves every live index through the change feed; its hash stays (for the audit,
        and for the list's owner to check). An entry that came from a list (an imported
        bank, or a source other than intake) gets a pending ``SourceFeedback`` note for
        that list's owner."""
        actor = check_actor(actor)
        reason = _reason(reason)
        with self._writing() as s:
            e = self._find(s, target)
            record = self._disable(s, e, actor=actor, reason=reason)
        log.info("entry disabled", extra={"bank": record.bank, "entry_id": record.id})
        return record

    def _disable(self, s: Session, e: Entry, *, actor: str, reason: str | None) -> EntryRecord:
        if e.status == EntryStatus.WITHDRAWN:
            raise Conflict(f"entry {e.id} is withdrawn; its hash is gone")
        if e.status == EntryStatus.DISABLED:
            raise Conflict(f"entry {e.id} is already disabled")
        b = s.get(Bank, e.bank_id)
        assert b is not None
        previous = e.status
        now = utcnow()
        e.status = EntryStatus.DISABLED.value
        e.updated_at = now
        self._audit(s, actor, "entry.disable", bank=b.name, entry_id=e.id,
                    previous_status=previous, reason=reason)
        if from_a_list(b.category, e.source):
            fb = SourceFeedback(entry_id=e.id, bank=b.name, source=e.source,
                                kind="false_positive", status=FeedbackStatus.PENDING.value,
                                reason=reason, created_by=actor, created_at=now, updated_at=now)
            s.add(fb)
            s.flush()
            self._audit(s, actor, "entry.feedback", bank=b.name, entry_id=e.id,
                        feedback_id=fb.id, source=e.source, kind=fb.kind,
                        status=fb.status)
        s.flush()
        return _entry_record(e, b.name)

    @database_errors
    def enable_entry(self, target: int | EntryKey | tuple[str, str, str], *, actor: str,
                     reason: str | None = None) -> EntryRecord:
        """A disabled entry matches again; a note to its source not yet sent is
        retracted."""
        actor = check_actor(actor)
        reason = _reason(reason)
        with self._writing() as s:
            e = self._find(s, target)
            if e.status != EntryStatus.DISABLED:
                raise Conflict(f"entry {e.id} is {e.status}, not disabled")
            bank = s.scalar(select(Bank.name).where(Bank.id == e.bank_id)) or ""
            e.status = EntryStatus.ACTIVE.value
            e.updated_at = now = utcnow()
            self._audit(s, actor, "entry.enable", bank=bank, entry_id=e.id, reason=reason)
            for fb in s.scalars(select(SourceFeedback).where(
                    SourceFeedback.entry_id == e.id,
                    SourceFeedback.status == FeedbackStatus.PENDING.value)):
                fb.status = FeedbackStatus.RETRACTED.value
                fb.updated_at = now
                self._audit(s, actor, "entry.feedback", bank=bank, entry_id=e.id,
                            feedback_id=fb.id, status=fb.status)
            s.flush()
            return _entry_record(e, bank)

    @database_errors
    def source_feedback(self, *, status: str | None = None, bank: str | None = None,
                        after_id: int | None = None, limit: int = 100) -> list[FeedbackRecord]:
        """Notes for entries' source lists, oldest first (page on with ``after_id``)."""
        if status is not None and status not in set(FeedbackStatus):
            raise BadInput(f"unknown status {status!r}; known: {choices(FeedbackStatus)}")
        q = select(SourceFeedback).order_by(SourceFeedback.id).limit(max(0, limit))
        if status is not None:
            q = q.where(SourceFeedback.status == status)
        if bank is not None:
            q = q.where(SourceFeedback.bank == bank)
        if after_id is not None:
            q = q.where(SourceFeedback.id > after_id)
        with self._reading() as s:
            return [FeedbackRecord(id=f.id, entry_id=f.entry_id, bank=f.bank, source=f.source,
                                   kind=f.kind, status=f.status, reason=f.reason,
                                   created_by=f.created_by, created_at=f.created_at,
                                   updated_at=f.updated_at) for f in s.scalars(q)]

    # -- flood quarantines ------------------------------------------------------------------
    @database_errors
    def quarantine(self, kind: str, bank: str, entry_id: int | None = None, *,
                   detail: dict[str, Any], actor: str) -> tuple[QuarantineRecord, bool]:
        """Quarantine a bank or one entry: its matches become ``review`` in every
        matcher (the store generation moves, so they reload) until an admin decides.
        Returns the record and whether it is new (an active quarantine of the same
        target is returned as it is)."""
        if kind not in set(QuarantineKind):
            raise BadInput(f"unknown quarantine kind {kind!r}; known: {choices(QuarantineKind)}")
        if (kind == QuarantineKind.ENTRY) != (entry_id is not None):
            raise BadInput("an entry quarantine names its entry; a bank quarantine none")
        actor = check_actor(actor)
        with self._writing() as s:
            self._bank(s, bank)
            q = select(Quarantine).where(Quarantine.status == QuarantineStatus.ACTIVE.value,
                                         Quarantine.kind == kind, Quarantine.bank == bank)
            if entry_id is not None:
                q = q.where(Quarantine.entry_id == entry_id)
            existing = s.scalars(q).first()
            if existing is not None:
                return _quarantine_record(existing), False
            row = Quarantine(kind=kind, bank=bank, entry_id=entry_id,
                             status=QuarantineStatus.ACTIVE.value, detail=dict(detail),
                             created_at=utcnow())
            s.add(row)
            s.flush()
            self._audit(s, actor, "quarantine.create", bank=bank, entry_id=entry_id,
                        quarantine_id=row.id, kind=kind, trip=dict(detail))
            record = _quarantine_record(row)
        log.warning("quarantined", extra={"kind": kind, "bank": bank, "entry_id": entry_id})
        return record, True

    @database_errors
    def quarantines(self, *, status: str | None = None, after_id: int | None = None,
                    limit: int = 100) -> list[QuarantineRecord]:
        """Quarantines, oldest first (page on with ``after_id``)."""
        if status is not None and status not in set(QuarantineStatus):
            raise BadInput(f"unknown status {status!r}; known: {choices(QuarantineStatus)}")
        q = select(Quarantine).order_by(Quarantine.id).limit(max(0, limit))
        if status is not None:
            q = q.where(Quarantine.status == status)
        if after_id is not None:
            q = q.where(Quarantine.id > after_id)
        with self._reading() as s:
            return [_quarantine_record(r) for r in s.scalars(q)]

    def active_quarantines(self) -> list[QuarantineRecord]:
        """Every active quarantine: what a matcher loads with the banks' policies."""
        return self.quarantines(status=QuarantineStatus.ACTIVE.value, limit=1_000_000)

    @database_errors
    def decide_quarantine(self, quarantine_id: int, decision: str, *, actor: str,
                          reason: str | None = None) -> QuarantineRecord:
        """An admin's decision on an active quarantine: ``release`` (nothing wrong: its
        matches count as before) or ``confirm`` (the entry is disabled, with a note to
        its source list; a bank's policy gets ``enabled: false``)."""
        if decision not in ("release", "confirm"):
            raise BadInput("decision must be release or confirm")
        actor = check_actor(actor)
        reason = _reason(reason)
        with self._writing() as s:
            row = s.get(Quarantine, quarantine_id)
            if row is None:
                raise NotFound(f"no quarantine {quarantine_id}")
            if row.status != QuarantineStatus.ACTIVE:
                raise Conflict(f"quarantine {quarantine_id} is already {row.status}")
            if decision == "confirm":
                if row.kind == QuarantineKind.ENTRY:
                    assert row.entry_id is not None
                    e = self._find(s, row.entry_id)
                    if e.status not in (EntryStatus.DISABLED, EntryStatus.WITHDRAWN):
                        self._disable(s, e, actor=actor, reason=reason or "flood quarantine "
                                      "confirmed")
                else:
                    b = self._bank(s, row.bank)
                    previous = dict(b.policy)
                    b.policy = BankPolicy.stored(previous).merged({"enabled": False}
                                                                  ).as_stored()
                    self._audit(s, actor, "bank.policy", bank=b.name, previous=previous,
                                policy=b.policy, reason=reason)
            row.status = (QuarantineStatus.CONFIRMED if decision == "confirm"
                          else QuarantineStatus.RELEASED).value
            row.decided_by = actor
            row.decided_at = utcnow()
            row.decision_reason = reason
            self._audit(s, actor, f"quarantine.{decision}", bank=row.bank,
                        entry_id=row.entry_id, quarantine_id=row.id, kind=row.kind,
                        reason=reason)
            s.flush()
            return _quarantine_record(row)

    # -- audit ----------------------------------------------------------------------------
    @database_errors
    def audit_read(self, actor: str, action: str, *, bank: str | None = None,
                   entry_id: int | None = None, **detail: Any) -> None:
        """Record that ``actor`` read hashes (an entry, an export, the review queue):
        who looked at a victim's hash is as much the audit's business as who changed
        one. Changes nothing an index reflects."""
        actor = check_actor(actor)
        with self._writing(topic=None) as s:
            self._audit(s, actor, action, bank=bank, entry_id=entry_id, **detail)

    @database_errors
    def audit(self, *, bank: str | None = None, entry_id: int | None = None,
              action: str | None = None, actor: str | None = None,
              since: datetime | None = None, until: datetime | None = None,
              before_id: int | None = None, limit: int = 100) -> list[AuditRecord]:
        """Audit events matching every given filter, newest first.

        Page backwards with ``before_id`` = the last id of the previous page.
        """
        q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(0, limit))
        for column, wanted in ((AuditEvent.bank, bank), (AuditEvent.entry_id, entry_id),
                               (AuditEvent.action, action), (AuditEvent.actor, actor)):
            if wanted is not None:
                q = q.where(column == wanted)
        if since is not None:
            q = q.where(AuditEvent.at >= since)
        if until is not None:
            q = q.where(AuditEvent.at < until)
        if before_id is not None:
            q = q.where(AuditEvent.id < before_id)
        with self._reading() as s:
            return [AuditRecord(id=a.id, at=a.at, actor=a.actor, action=a.action, bank=a.bank,
                                entry_id=a.entry_id, detail=dict(a.detail))
                    for a in s.scalars(q)]
