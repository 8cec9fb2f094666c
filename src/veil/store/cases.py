"""Victims' cases: what intake submitted, under which token, and how often it matched.

A case holds signals (1-based ``n``, in submission order), each pointing at an entry
of the victim bank. The token that lets its holder see and withdraw the case is
``secrets.token_urlsafe(32)``, stored only as its SHA-256. Mixed into ``Store``.

A case owns only its own hold on an entry, never the entry (``EntryHolder``): a hash
the bank already had (imported, added from the CLI, submitted by another case) is
shared, and the case's withdrawal releases its hold; the hash is erased only when
nobody holds it any more. What a case is shown depends only on what it did and on
what admins did after it submitted, never on what the bank held before, so
submitting a value does not reveal whether it was banked:

* ``matched``: the signal's own matches, counted since it was submitted and while
  active (``CaseSignal.matched``), not the entry's;
* ``status``: ``withdrawn`` (by the case), ``under_review`` (an admin or reviewer
  disputed the entry after the case submitted it: it does not match until a
  reviewer decides), ``removed`` (a reviewer or admin withdrew the entry: its hash
  is erased), else ``active``. A dispute older than the submission is not shown.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Table,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from veil.errors import BadInput, Conflict, NotFound
from veil.signals import get as get_signal
from veil.store.coltypes import UTCDateTime, utcnow
from veil.store.exchange_feed import still_served, write_tombstone
from veil.store.keys import key_hash, same_hash
from veil.store.models import (
    Bank,
    Case,
    CaseSignal,
    Entry,
    EntryHolder,
    EntryMatchCount,
    StoreState,
    case_holder,
)
from veil.store.records import ActiveEntry
from veil.store.transactions import StoreBase, check_actor, database_errors
from veil.store.vocabulary import Category, EntryStatus

#: Entry ids per statement when writing match counts: far below every database's
#: limit on bound parameters (SQLite 250 000, PostgreSQL 65 535).
MATCH_COUNT_CHUNK = 500
#: What a victim's case shows for each signal (see the module docstring).
SHOWN_STATUSES = ("active", "under_review", "withdrawn", "removed")

T = TypeVar("T")


def chunks(items: Iterable[T], size: int) -> Iterable[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


class MatchTally(NamedTuple):
    """Matches of one entry not yet written: how many, the first and the last."""

    matches: int
    first_at: datetime
    last_at: datetime

    def merged(self, other: MatchTally) -> MatchTally:
        return MatchTally(self.matches + other.matches, min(self.first_at, other.first_at),
                          max(self.last_at, other.last_at))


def shown_status(signal_status: str, entry_status: str, entry_changed_at: datetime,
                 submitted_at: datetime) -> str:
    """What the case holder sees for one signal (one of ``SHOWN_STATUSES``)."""
    if signal_status != "active":
        return "withdrawn"
    if entry_status == EntryStatus.WITHDRAWN:
        return "removed"  # only an admin or reviewer erases an entry a case still holds
    if (entry_status in (EntryStatus.DISPUTED, EntryStatus.DISABLED)
            and entry_changed_at >= submitted_at):
        return "under_review"
    # active, or disputed (disabled) before this case submitted it: showing that would tell a
    # stranger the value was already banked
    return "active"


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): millisecond time first, so ids sort by creation."""
    ms = time.time_ns() // 1_000_000
    rand = secrets.randbits(74)
    value = ((ms & (2**48 - 1)) << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (
        rand & (2**62 - 1))
    return str(uuid.UUID(int=value))


@dataclass(frozen=True, slots=True)
class CaseSignalIn:
    signal: str
    value: str
    quality: int | None = None


@dataclass(frozen=True, slots=True)
class CaseSignalView:
    n: int
    signal: str
    #: One of ``SHOWN_STATUSES``.
    status: str
    entry_id: int
    #: This signal's own matches since it was submitted (see ``MatchTally`` for what
    #: may still be in memory).
    matched: int
    last_matched_at: datetime | None
    created_at: datetime
    withdrawn_at: datetime | None


@dataclass(frozen=True, slots=True)
class CaseView:
    id: str
    status: str
    created_at: datetime
    updated_at: datetime
    signals: tuple[CaseSignalView, ...]


@dataclass(frozen=True, slots=True)
class CreatedCase:
    case_id: str
    #: Shown to the submitter once; only its hash is stored.
    token: str
    bank: str
    bank_created: bool
    #: New entries as ``(signal, entry)`` (a hash the bank already held is not added
    #: again: the case takes a hold on it).
    added: tuple[tuple[str, ActiveEntry], ...]


class Cases(StoreBase):
    """The ``Store`` methods for victims' cases and match counters."""

    @database_errors
    def create_case(self, signals: Sequence[CaseSignalIn], attestation: dict[str, Any],
                    *, bank: str, actor: str) -> CreatedCase:
        """Record a case and its signals in ``bank`` (created, category
        victim_submitted, if missing) in one transaction."""
        actor = check_actor(actor)
        if not signals:
            raise BadInput("a case needs at least one signal")
        parsed = []
        for sig in signals:
            st = get_signal(sig.signal)
            if sig.quality is not None and not 0 <= sig.quality <= 100:
                raise BadInput("quality must be an integer 0-100")
            parsed.append((st.name, st.parse(sig.value), sig.quality))
        now = utcnow()
        token = secrets.token_urlsafe(32)
        case_id = uuid7()
        added: list[tuple[str, ActiveEntry]] = []
        shared = attestation.get("share_with_partners") is True
        with self._writing() as s:
            b = s.scalars(select(Bank).where(Bank.name == bank)).one_or_none()
            created = b is None
            if b is None:
                b = Bank(name=bank, category=Category.VICTIM_SUBMITTED.value, policy={},
                         created_by=actor, created_at=now)
                s.add(b)
                s.flush()
                self._audit(s, actor, "bank.create", bank=bank, category=b.category, policy={})
            elif b.category != Category.VICTIM_SUBMITTED:
                raise Conflict(f"the victim bank {bank!r} has category {b.category}, not "
                               "victim_submitted; fix VEIL_API_VICTIM_BANK",
                               code="intake.bank_misconfigured")
            s.add(Case(id=case_id, token_hash=key_hash(token), status="open",
                       attestation=dict(attestation), submitted_by=actor, created_at=now,
                       updated_at=now, shared=shared))
            s.flush()
            seen: dict[tuple[str, str], int] = {}
            for n, (signal, value, quality) in enumerate(parsed, 1):
                entry_id = seen.get((signal, value))
                if entry_id is None:
                    entry_id = s.scalar(select(Entry.id).where(
                        Entry.bank_id == b.id, Entry.signal == signal, Entry.value == value))
                    if entry_id is not None and shared:
                        held = s.get(Entry, entry_id)
                        # restamped at flush, so partners see the new case reference;
                        # never a disputed entry's stamp, which its cases' status reads
                        if held is not None and held.status == EntryStatus.ACTIVE:
                            held.updated_at = now
                    if entry_id is None:
                        e = Entry(bank_id=b.id, signal=signal, value=value, quality=quality,
                                  status=EntryStatus.ACTIVE.value, source="intake", note=None,
                                  case_ref=case_id, created_by=actor, created_at=now,
                                  updated_at=now)
                        s.add(e)
                        s.flush()
                        entry_id = e.id
                        added.append((signal, ActiveEntry(e.id, bank, b.category, value,
                                                          quality)))
                        self._audit(s, actor, "entry.add", bank=bank, entry_id=e.id,
                                    signal=signal, source="intake", case_ref=case_id)
                    s.add(EntryHolder(entry_id=entry_id, holder=case_holder(case_id),
                                      case_id=case_id, created_at=now))
                    seen[(signal, value)] = entry_id
                s.add(CaseSignal(case_id=case_id, n=n, entry_id=entry_id, signal=signal,
                                 status="active", created_at=now, matched=0))
            # never a hash in the audit log: counts and types only
            self._audit(s, actor, "case.create", bank=bank, case_id=case_id,
                        signals=[p[0] for p in parsed], new_entries=len(added))
        return CreatedCase(case_id, token, bank, created, tuple(added))

    @database_errors
    def case_by_token(self, token: str) -> str | None:
        """The id of the case whose token this is, or None."""
        if not token or len(token) > 200:
            return None
        wanted = key_hash(token)
        with self._reading() as s:
            row = s.execute(select(Case.id, Case.token_hash)
                            .where(Case.token_hash == wanted)).one_or_none()
        if row is None or not same_hash(row[1], wanted):
            return None
        return str(row[0])

    @database_errors
    def case_view(self, case_id: str) -> CaseView:
        """What the case's holder sees: each signal's shown status and own count."""
        with self._reading() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise NotFound("no such case")
            rows = s.execute(
                select(CaseSignal, Entry.status, Entry.updated_at)
                .join(Entry, Entry.id == CaseSignal.entry_id)
                .where(CaseSignal.case_id == case_id).order_by(CaseSignal.n)).all()
            return CaseView(case.id, case.status, case.created_at, case.updated_at, tuple(
                CaseSignalView(cs.n, cs.signal,
                               shown_status(cs.status, e_status, e_changed, cs.created_at),
                               cs.entry_id, int(cs.matched or 0), cs.last_matched_at,
                               cs.created_at, cs.withdrawn_at)
                for cs, e_status, e_changed in rows))

    @database_errors
    def withdraw_case(self, case_id: str, n: int | None = None, *,
                      actor: str) -> list[tuple[str, int]]:
        """Withdraw one signal of a case (``n``) or all of them.

        The case releases its hold on each entry none of its active signals still
        carries; an entry left with no holder at all (no other case, no import or
        add) is withdrawn too, its hash erased. Returns those entries as ``(signal,
        entry_id)``. Withdrawing twice is a no-op."""
        actor = check_actor(actor)
        now = utcnow()
        removed: list[tuple[str, int]] = []
        holder = case_holder(case_id)
        with self._writing() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise NotFound("no such case")
            q = select(CaseSignal).where(CaseSignal.case_id == case_id)
            if n is not None:
                q = q.where(CaseSignal.n == n)
            rows = s.scalars(q).all()
            if n is not None and not rows:
                raise NotFound(f"this case has no signal {n}", code="case.no_signal")
            touched: set[int] = set()
            for cs in rows:
                if cs.status != "active":
                    continue
                cs.status = "withdrawn"
                cs.withdrawn_at = now
                touched.add(cs.entry_id)
            s.flush()
            # No hold can appear or go while this counts them: every transaction that
            # changes holds (cases, imports, adds) takes a store generation first,
            # which locks the one StoreState row until it commits.
            released = 0
            for entry_id in sorted(touched):
                still = s.scalar(select(func.count()).select_from(CaseSignal).where(
                    CaseSignal.case_id == case_id, CaseSignal.entry_id == entry_id,
                    CaseSignal.status == "active"))
                if still:
                    continue  # another signal of this case carries the same hash
                released += s.connection().execute(delete(EntryHolder).where(
                    EntryHolder.entry_id == entry_id, EntryHolder.holder == holder)).rowcount
                others = s.scalar(select(func.count()).select_from(EntryHolder).where(
                    EntryHolder.entry_id == entry_id))
                e = s.get(Entry, entry_id)
                if others:
                    # held by another case or a non-case source: it stays; but partners
                    # this case let fetch it must delete it unless another consenting
                    # case still shares it (then only its case references change)
                    if case.shared and e is not None and e.value is not None:
                        if still_served(s, e):
                            if e.status == EntryStatus.ACTIVE:
                                e.updated_at = now
                        else:
                            write_tombstone(s, e)
                    continue
                if e is None or e.status == EntryStatus.WITHDRAWN:
                    continue
                bank = s.scalar(select(Bank.name).where(Bank.id == e.bank_id))
                previous = e.status
                write_tombstone(s, e)  # partners that fetched it learn to delete it
                e.status = EntryStatus.WITHDRAWN.value
                e.value = None
                e.quality = None
                e.updated_at = now
                self._audit(s, actor, "entry.withdraw", bank=bank, entry_id=e.id,
                            signal=e.signal, previous_status=previous,
                            reason="withdrawn by the case holder", case_ref=case_id)
                removed.append((e.signal, e.id))
            left = s.scalar(select(func.count()).select_from(CaseSignal).where(
                CaseSignal.case_id == case_id, CaseSignal.status == "active"))
            if not left:
                case.status = "withdrawn"
            case.updated_at = now
            self._audit(s, actor, "case.withdraw", case_id=case_id, signal_n=n,
                        holds_released=released, entries_withdrawn=len(removed))
        return removed

    @database_errors
    def add_match_counts(self, counts: Mapping[int, MatchTally]) -> None:
        """Add ``{entry_id: MatchTally}`` to the counters, in one transaction.

        Each entry's total goes up by ``matches`` (what admins see). Each active case
        signal on the entry goes up too, but only if it was submitted no later than
        the first of these matches: a case never counts a match older than its
        submission (a signal submitted mid-tally misses that tally, never more).
        Statements take at most ``MATCH_COUNT_CHUNK`` ids, so any number of counts
        can be written; callers still keep each call small (a short write lock).
        Ids that name no entry are skipped."""
        if not counts:
            return
        dialect = self.engine.dialect.name
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(EntryMatchCount)

        def later(column: ColumnElement[datetime],
                  value: ColumnElement[datetime]) -> ColumnElement[datetime]:
            # counts from several processes may arrive out of order
            if dialect == "postgresql":
                return func.greatest(column, value)  # ignores NULL
            return func.max(func.coalesce(column, value), value)

        totals = cast(Table, EntryMatchCount.__table__)
        upsert = ins.on_conflict_do_update(
            index_elements=["entry_id"],
            set_={"count": totals.c.count + ins.excluded.count,
                  "last_matched_at": later(totals.c.last_matched_at,
                                           ins.excluded.last_matched_at)})
        signals = cast(Table, CaseSignal.__table__)
        last_at = bindparam("b_last", type_=UTCDateTime())
        bump = (update(signals)
                .where(signals.c.entry_id == bindparam("b_entry"), signals.c.status == "active",
                       signals.c.created_at <= bindparam("b_first", type_=UTCDateTime()))
                .values(matched=signals.c.matched + bindparam("b_matches", type_=BigInteger()),
                        last_matched_at=later(signals.c.last_matched_at, last_at)))
        held_by_a_case = (select(CaseSignal.entry_id)
                          .where(CaseSignal.entry_id == Entry.id, CaseSignal.status == "active")
                          .exists())
        with self._writing(topic=None) as s:
            conn = s.connection()
            if conn.dialect.name == "postgresql":
                # wait for the writers' lock (without taking a generation: nothing an
                # index reflects changes): a case's transaction updates its signals'
                # rows in its own order, these statements in entry order, and two such
                # orders can deadlock (seen under CI's load); SQLite has one writer
                s.execute(select(StoreState.id).where(StoreState.id == 1).with_for_update())
            for chunk in chunks(sorted(counts), MATCH_COUNT_CHUNK):
                # one read: which ids name an entry, and which of those an active case
                # signal carries
                known = dict(s.execute(select(Entry.id, held_by_a_case)
                                       .where(Entry.id.in_(chunk))).all())
                rows = [{"entry_id": e, "count": counts[e].matches,
                         "last_matched_at": counts[e].last_at} for e in chunk if e in known]
                if not rows:
                    continue
                conn.execute(upsert, rows)
                held = [e for e in chunk if known.get(e)]
                if held:
                    conn.execute(bump, [
                        {"b_entry": e, "b_matches": counts[e].matches,
                         "b_first": counts[e].first_at, "b_last": counts[e].last_at}
                        for e in held])
