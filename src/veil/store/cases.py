"""Victims' cases: what intake submitted, under which token, and how often it matched.

A case holds signals (1-based ``n``, in submission order), each pointing at an entry
of the victim bank. The token that lets its holder see and withdraw the case is
``secrets.token_urlsafe(32)``, stored only as its SHA-256. Mixed into ``Store``.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from veil.errors import BadInput, Conflict, NotFound
from veil.signals import get as get_signal
from veil.store.coltypes import utcnow
from veil.store.keys import key_hash, same_hash
from veil.store.models import Bank, Case, CaseSignal, Entry, EntryMatchCount
from veil.store.records import ActiveEntry
from veil.store.transactions import StoreBase, check_actor, database_errors
from veil.store.vocabulary import Category, EntryStatus


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
    status: str
    entry_id: int
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
    #: New entries as ``(signal, entry)`` (a hash the bank already held is linked to
    #: the case, not added again).
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
        with self._writing() as s:
            b = s.scalars(select(Bank).where(Bank.name == bank).with_for_update()).one_or_none()
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
                       updated_at=now))
            s.flush()
            seen: dict[tuple[str, str], int] = {}
            for n, (signal, value, quality) in enumerate(parsed, 1):
                entry_id = seen.get((signal, value))
                if entry_id is None:
                    entry_id = s.scalar(select(Entry.id).where(
                        Entry.bank_id == b.id, Entry.signal == signal, Entry.value == value))
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
                seen[(signal, value)] = entry_id
                s.add(CaseSignal(case_id=case_id, n=n, entry_id=entry_id, signal=signal,
                                 status="active", created_at=now))
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
        with self._reading() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise NotFound("no such case")
            rows = s.execute(
                select(CaseSignal, EntryMatchCount.count, EntryMatchCount.last_matched_at)
                .outerjoin(EntryMatchCount, EntryMatchCount.entry_id == CaseSignal.entry_id)
                .where(CaseSignal.case_id == case_id).order_by(CaseSignal.n)).all()
            return CaseView(case.id, case.status, case.created_at, case.updated_at, tuple(
                CaseSignalView(cs.n, cs.signal, cs.status, cs.entry_id, int(count or 0), last,
                               cs.created_at, cs.withdrawn_at)
                for cs, count, last in rows))

    @database_errors
    def withdraw_case(self, case_id: str, n: int | None = None, *,
                      actor: str) -> list[tuple[str, int]]:
        """Withdraw one signal of a case (``n``) or all of them. Each entry no other
        case still holds is withdrawn too (its hash erased); returns those entries as
        ``(signal, entry_id)``. Withdrawing twice is a no-op."""
        actor = check_actor(actor)
        now = utcnow()
        removed: list[tuple[str, int]] = []
        with self._writing() as s:
            case = s.get(Case, case_id, with_for_update=True)
            if case is None:
                raise NotFound("no such case")
            q = select(CaseSignal).where(CaseSignal.case_id == case_id)
            if n is not None:
                q = q.where(CaseSignal.n == n)
            rows = s.scalars(q.with_for_update()).all()
            if n is not None and not rows:
                raise NotFound(f"this case has no signal {n}", code="case.no_signal")
            for cs in rows:
                if cs.status != "active":
                    continue
                cs.status = "withdrawn"
                cs.withdrawn_at = now
                s.flush()
                others = s.scalar(select(func.count()).select_from(CaseSignal).where(
                    CaseSignal.entry_id == cs.entry_id, CaseSignal.status == "active"))
                if others:
                    continue  # another case still wants this hash blocked
                e = s.get(Entry, cs.entry_id, with_for_update=True)
                if e is None or e.status == EntryStatus.WITHDRAWN:
                    continue
                bank = s.scalar(select(Bank.name).where(Bank.id == e.bank_id))
                previous = e.status
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
                        entries_withdrawn=len(removed))
        return removed

    @database_errors
    def add_match_counts(self, counts: Mapping[int, tuple[int, datetime]]) -> None:
        """Add ``{entry_id: (matches, last matched at)}`` to the counters."""
        if not counts:
            return
        rows = [{"entry_id": e, "count": c, "last_matched_at": at}
                for e, (c, at) in counts.items()]
        dialect = self.engine.dialect.name
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(EntryMatchCount)
        stmt = ins.on_conflict_do_update(
            index_elements=["entry_id"],
            set_={"count": EntryMatchCount.count + ins.excluded.count,
                  "last_matched_at": ins.excluded.last_matched_at})
        with self._writing(bump=False, topic=None) as s:
            # entries are never deleted, but a counter must not fail on a stray id
            known = set(s.scalars(select(Entry.id).where(Entry.id.in_(list(counts)))))
            rows = [r for r in rows if r["entry_id"] in known]
            if rows:
                s.execute(stmt, rows)
