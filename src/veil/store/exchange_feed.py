"""The hub's side of the hash exchange in the store: partners, their feed, what they
submit, their feedback, and the tombstones of withdrawn hashes. Mixed into ``Store``.

A partner is an API key with the ``exchange`` scope and an ``ExchangePartner`` row
naming the banks it may fetch and the bank it may submit into. What it fetches is
the entries of banks both in its list and shared by their own policy
(``BankPolicy.share``); of a ``victim_submitted`` bank only entries that an open case
whose submitter consented (``Case.shared``) holds.

The feed is ordered by ``(updated_at, kind, id)`` over entries (kind 0) and
tombstones (kind 1) and read by keyset pagination (``FeedCursor``). Every entry a
writing transaction changes is stamped with the time of its flush, under the store
generation's lock (``generations``), so on one node the stamps rise in commit order
and a reader that has seen a stamp has seen every earlier one.

A tombstone keeps a withdrawn hash of a shared bank (its value and type, nothing
else) so partners learn to delete it; ``purge_tombstones`` erases it after
``VEIL_EXCHANGE_TOMBSTONE_DAYS``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from veil.errors import BadInput, Conflict, Forbidden, NotFound
from veil.store.coltypes import UTCDateTime, utcnow
from veil.store.generations import GENERATION
from veil.store.models import (
    HOLDER_ADD,
    ApiKey,
    Bank,
    Case,
    CaseSignal,
    Entry,
    EntryHolder,
    ExchangePartner,
    ExchangeTombstone,
    PartnerFeedback,
    keeps_holders,
)
from veil.store.policy import BankPolicy
from veil.store.transactions import StoreBase, check_actor, database_errors
from veil.store.vocabulary import Category, EntryStatus

log = logging.getLogger("veil.store")

#: The signal types the feed serves (``veil.exchange.stopncii_format.TO_VEIL``'s values;
#: a test holds the two equal). Tombstones are kept only for these.
FEED_SIGNALS = ("pdq", "md5")
#: ``FeedItem.kind``: an entry, or a tombstone (after entries of the same instant).
ENTRY, TOMBSTONE = 0, 1
#: Most tags kept per feedback, and characters per tag.
MAX_TAGS, TAG_MAX = 20, 100


@dataclass(frozen=True, slots=True)
class PartnerRecord:
    key_id: int
    name: str
    fetch_banks: tuple[str, ...]
    submit_bank: str | None


@dataclass(frozen=True, slots=True)
class FeedCursor:
    """Where a page ended: the last record's ``(updated_at, kind, id)``."""

    at: datetime
    kind: int
    id: int


@dataclass(frozen=True, slots=True)
class PartnerOpinion:
    partner: str
    value: str
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FeedItem:
    kind: int
    id: int
    at: datetime
    signal: str
    value: str
    #: The entry's status, or the tombstone's (``withdrawn``/``deleted``).
    status: str
    #: Ids of the consenting open cases holding a victim entry (never shown as such).
    case_ids: tuple[str, ...] = ()
    feedback: tuple[PartnerOpinion, ...] = ()

    @property
    def cursor(self) -> FeedCursor:
        return FeedCursor(self.at, self.kind, self.id)


@dataclass(frozen=True, slots=True)
class SubmittedHash:
    signal: str
    value: str
    feedback: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SubmittedOpinion:
    #: None: any type the feed serves.
    signal: str | None
    value: str
    feedback: str
    tags: tuple[str, ...] = ()


def _shared_hold() -> ColumnElement[bool]:
    """An open, consenting case holds the entry."""
    return exists(select(EntryHolder.entry_id).join(Case, Case.id == EntryHolder.case_id)
                  .where(EntryHolder.entry_id == Entry.id, Case.shared.is_(True),
                         Case.status == "open"))


def _served_banks(s: Session, names: Sequence[str]) -> tuple[list[int], list[int]]:
    """(plain bank ids, victim bank ids) among ``names`` whose policy shares them."""
    plain: list[int] = []
    victim: list[int] = []
    if not names:
        return plain, victim
    for b in s.scalars(select(Bank).where(Bank.name.in_(list(names)))):
        if BankPolicy.stored(b.policy).share:
            (victim if b.category == Category.VICTIM_SUBMITTED else plain).append(b.id)
    return plain, victim


def _served(plain: list[int], victim: list[int]) -> ColumnElement[bool]:
    """Entries a partner fetching these banks is served (withdrawn ones never: they
    are tombstones)."""
    if not plain and not victim:
        return false()
    return and_(or_(Entry.bank_id.in_(plain),
                    and_(Entry.bank_id.in_(victim), _shared_hold())),
                Entry.value.is_not(None), Entry.status != EntryStatus.WITHDRAWN.value,
                Entry.signal.in_(FEED_SIGNALS))


def could_have_served(s: Session, e: Entry) -> bool:
    """Whether a partner may have fetched ``e``: its bank is shared and, for a victim
    bank, a consenting case submitted it (ever: a tombstone must reach whoever
    fetched it while the case was open)."""
    if e.signal not in FEED_SIGNALS or e.value is None:
        return False
    bank = s.get(Bank, e.bank_id)
    if bank is None or not BankPolicy.stored(bank.policy).share:
        return False
    if bank.category != Category.VICTIM_SUBMITTED:
        return True
    return bool(s.scalar(select(exists(
        select(CaseSignal.id).join(Case, Case.id == CaseSignal.case_id)
        .where(CaseSignal.entry_id == e.id, Case.shared.is_(True))))))


def still_served(s: Session, e: Entry) -> bool:
    """Whether a consenting open case still holds ``e`` (a victim bank's entry stays in
    the feed only while one does)."""
    return bool(s.scalar(select(exists(select(Entry.id).where(
        Entry.id == e.id, _shared_hold())))))


def write_tombstone(s: Session, e: Entry, *, status: str = "withdrawn") -> None:
    """Keep ``e``'s hash (before it is erased, or while only unshared cases still
    hold it) for partners to delete it, if any could have fetched it. Call inside the
    writing transaction, which holds the generation lock: ``at`` is in commit order."""
    if could_have_served(s, e):
        assert e.value is not None
        s.add(ExchangeTombstone(bank_id=e.bank_id, signal=e.signal, value=e.value,
                                status=status, at=utcnow()))


def sharing_changed(s: Session, bank: Bank, *, shared: bool) -> None:
    """A bank's ``share`` flipped, inside the transaction that flips it.

    Shared now: its entries are stamped anew, so partners already past them in the
    feed receive them (the feed is ordered by ``updated_at``). Unshared: every hash
    partners could have fetched becomes a ``deleted`` tombstone, so they delete it
    rather than keep matching a list this hub no longer shares."""
    now = utcnow()
    if shared:
        s.execute(update(Entry).where(Entry.bank_id == bank.id, Entry.value.is_not(None))
                  .values(updated_at=now, generation=s.info[GENERATION]))
        return
    served = and_(Entry.bank_id == bank.id, Entry.value.is_not(None),
                  Entry.status == EntryStatus.ACTIVE.value, Entry.signal.in_(FEED_SIGNALS))
    if bank.category == Category.VICTIM_SUBMITTED:
        served = and_(served, _shared_hold())
    s.execute(insert(ExchangeTombstone).from_select(
        ["bank_id", "signal", "value", "status", "at"],
        select(Entry.bank_id, Entry.signal, Entry.value, literal("deleted"),
               literal(now, UTCDateTime)).where(served)))


def _partner_record(p: ExchangePartner, key_name: str, submit: str | None) -> PartnerRecord:
    return PartnerRecord(p.key_id, key_name, tuple(p.fetch_banks), submit)


class ExchangeFeed(StoreBase):
    """The ``Store`` methods of the hub's exchange."""

    # -- partners -----------------------------------------------------------------------
    @staticmethod
    def _partner_key(s: Session, key_name: str) -> ApiKey:
        keys = list(s.scalars(select(ApiKey).where(ApiKey.name == key_name,
                                                   ApiKey.revoked_at.is_(None))))
        if not keys:
            raise NotFound(f"no active API key named {key_name!r}")
        if len(keys) > 1:
            raise Conflict(f"{len(keys)} active keys are named {key_name!r}; a partner's "
                           "key needs a name of its own (feedback is shown under it)")
        if "exchange" not in keys[0].scopes:
            raise BadInput(f"key {key_name!r} lacks the 'exchange' scope",
                           code="exchange.not_exchange_key")
        return keys[0]

    @database_errors
    def set_partner(self, key_name: str, fetch_banks: Sequence[str],
                    submit_bank: str | None, *, actor: str) -> PartnerRecord:
        """Say what the ``exchange`` key named ``key_name`` may fetch (``fetch_banks``,
        each served only while its policy shares it) and where its submissions go."""
        actor = check_actor(actor)
        wanted = list(dict.fromkeys(b.strip() for b in fetch_banks if b.strip()))
        with self._writing(topic=None) as s:
            key = self._partner_key(s, key_name)
            known = {b.name: b for b in s.scalars(select(Bank).where(
                Bank.name.in_([*wanted, *([submit_bank] if submit_bank else [])])))}
            if missing := [b for b in wanted if b not in known]:
                raise NotFound(f"no bank named {', '.join(map(repr, missing))}")
            submit_id = None
            if submit_bank:
                target = known.get(submit_bank)
                if target is None:
                    raise NotFound(f"no bank named {submit_bank!r}")
                if target.category in (Category.VICTIM_SUBMITTED, Category.ALLOWLIST):
                    raise BadInput(f"a partner cannot submit into a {target.category} "
                                   "bank", code="exchange.bad_submit_bank")
                submit_id = target.id
            row = s.scalars(select(ExchangePartner)
                            .where(ExchangePartner.key_id == key.id)).one_or_none()
            if row is None:
                row = ExchangePartner(key_id=key.id, created_by=actor, created_at=utcnow(),
                                      fetch_banks=wanted, submit_bank_id=submit_id)
                s.add(row)
            else:
                row.fetch_banks = wanted
                row.submit_bank_id = submit_id
            self._audit(s, actor, "exchange.partner", key_id=key.id, name=key_name,
                        fetch_banks=wanted, submit_bank=submit_bank)
            s.flush()
            return _partner_record(row, key_name, submit_bank or None)

    @database_errors
    def get_partner(self, key_name: str) -> PartnerRecord:
        with self._reading() as s:
            key = self._partner_key(s, key_name)
            found = self._partner_of(s, key.id)
            if found is None:
                raise NotFound(f"key {key_name!r} is not configured as a partner",
                               code="exchange.not_partner")
            return found

    @staticmethod
    def _partner_of(s: Session, key_id: int) -> PartnerRecord | None:
        row = s.execute(select(ExchangePartner, ApiKey.name)
                        .join(ApiKey, ApiKey.id == ExchangePartner.key_id)
                        .where(ExchangePartner.key_id == key_id,
                               ApiKey.revoked_at.is_(None))).one_or_none()
        if row is None:
            return None
        p, name = row
        submit = (s.scalar(select(Bank.name).where(Bank.id == p.submit_bank_id))
                  if p.submit_bank_id is not None else None)
        return _partner_record(p, name, submit)

    @database_errors
    def partner_for_key(self, key_id: int) -> PartnerRecord:
        """The partner configuration of an ``exchange`` key (403 if it has none)."""
        with self._reading() as s:
            found = self._partner_of(s, key_id)
        if found is None:
            raise Forbidden("this exchange key is not configured as a partner (an admin "
                            "sets its banks: veil keys partner)",
                            code="exchange.not_partner")
        return found

    # -- the feed -----------------------------------------------------------------------
    @database_errors
    def feed_page(self, partner: PartnerRecord, *, start: datetime,
                  after: FeedCursor | None,
                  limit: int) -> tuple[list[FeedItem], FeedCursor | None, bool]:
        """Up to ``limit`` records changed at or after ``start`` and after ``after``, in
        feed order; the cursor after them (``after`` if there were none); and whether
        more follow. A tombstone of a hash the partner is still
        served from another bank is left out (it would delete a hash still shared),
        though the cursor moves past it."""
        limit = max(1, limit)
        with self._reading() as s:
            plain, victim = _served_banks(s, partner.fetch_banks)
            # tombstones of every bank the partner lists, shared now or not: a bank
            # no longer shared leaves "deleted" tombstones of what it served
            listed = list(s.scalars(select(Bank.id).where(
                Bank.name.in_(list(partner.fetch_banks))))) if partner.fetch_banks else []
            if not listed:
                return [], after, False
            served = _served(plain, victim)
            q = (select(Entry.id, Entry.updated_at, Entry.signal, Entry.value, Entry.status)
                 .where(served, Entry.updated_at >= start))
            t = ExchangeTombstone
            tq = (select(t.id, t.at, t.signal, t.value, t.status)
                  .where(t.bank_id.in_(listed), t.at >= start))
            if after is not None:
                if after.kind == ENTRY:
                    q = q.where(or_(Entry.updated_at > after.at,
                                    and_(Entry.updated_at == after.at, Entry.id > after.id)))
                    tq = tq.where(t.at >= after.at)
                else:
                    q = q.where(Entry.updated_at > after.at)
                    tq = tq.where(or_(t.at > after.at, and_(t.at == after.at, t.id > after.id)))
            q = q.order_by(Entry.updated_at, Entry.id).limit(limit + 1)
            tq = tq.order_by(t.at, t.id).limit(limit + 1)
            rows = [FeedItem(ENTRY, i, at, sig, str(val), st)  # never NULL: see _served
                    for i, at, sig, val, st in s.execute(q)]
            rows += [FeedItem(TOMBSTONE, i, at, sig, val, st)
                     for i, at, sig, val, st in s.execute(tq)]
            rows.sort(key=lambda r: (r.at, r.kind, r.id))
            more = len(rows) > limit
            page = rows[:limit]
            last = page[-1].cursor if page else after
            return self._filled(s, page, served), last, more

    @staticmethod
    def _filled(s: Session, page: list[FeedItem],
                served: ColumnElement[bool]) -> list[FeedItem]:
        """The page's entries with their consenting cases and partners' feedback; its
        tombstones less those of hashes still served."""
        ids = [r.id for r in page if r.kind == ENTRY]
        cases: dict[int, list[str]] = {}
        opinions: dict[int, list[PartnerOpinion]] = {}
        if ids:
            for entry_id, case_id in s.execute(
                    select(EntryHolder.entry_id, Case.id)
                    .join(Case, Case.id == EntryHolder.case_id)
                    .where(EntryHolder.entry_id.in_(ids), Case.shared.is_(True),
                           Case.status == "open").order_by(Case.id)):
                cases.setdefault(entry_id, []).append(case_id)
            for fb in s.scalars(select(PartnerFeedback)
                                .where(PartnerFeedback.entry_id.in_(ids))
                                .order_by(PartnerFeedback.partner)):
                opinions.setdefault(fb.entry_id, []).append(
                    PartnerOpinion(fb.partner, fb.value, tuple(fb.tags or ())))
        gone = {(r.signal, r.value) for r in page if r.kind == TOMBSTONE}
        still: set[tuple[str, str | None]] = set()
        if gone:
            still = {(sig, val) for sig, val in s.execute(
                select(Entry.signal, Entry.value).where(
                    served, Entry.value.in_(sorted({v for _, v in gone}))))}
        out = []
        for r in page:
            if r.kind == TOMBSTONE:
                if (r.signal, r.value) not in still:
                    out.append(r)
                continue
            out.append(FeedItem(r.kind, r.id, r.at, r.signal, r.value, r.status,
                                tuple(cases.get(r.id, ())), tuple(opinions.get(r.id, ()))))
        return out

    # -- what partners send -------------------------------------------------------------
    @staticmethod
    def _upsert_opinion(s: Session, e: Entry, partner: str, value: str,
                        tags: Sequence[str], now: datetime) -> None:
        fb = s.scalars(select(PartnerFeedback).where(
            PartnerFeedback.entry_id == e.id, PartnerFeedback.partner == partner)
        ).one_or_none()
        if fb is None:
            s.add(PartnerFeedback(entry_id=e.id, partner=partner, value=value,
                                  tags=list(tags), at=now))
        else:
            fb.value, fb.tags, fb.at = value, list(tags), now
        if e.status == EntryStatus.ACTIVE.value:
            # the feed shows the new opinion (restamped at flush); a disputed or
            # disabled entry keeps its stamp, which its cases' status page reads
            # (``cases.shown_status``): the opinion shows with its next change
            e.updated_at = now

    @database_errors
    def submit_hashes(self, partner: PartnerRecord, hashes: Sequence[SubmittedHash], *,
                      actor: str) -> tuple[int, int]:
        """Add a partner's hashes (already parsed) to its submit bank; a hash the bank
        has keeps its entry. A hash's feedback becomes the partner's opinion of it.
        Returns (added, already there)."""
        actor = check_actor(actor)
        if partner.submit_bank is None:
            raise Forbidden("this partner key has no bank to submit into (an admin sets "
                            "one: veil keys partner … --submit-bank)",
                            code="exchange.no_submit_bank")
        added = existing = 0
        now = utcnow()
        with self._writing() as s:
            bank = s.scalars(select(Bank).where(Bank.name == partner.submit_bank)).one()
            for h in hashes:
                e = s.scalars(select(Entry).where(Entry.bank_id == bank.id,
                                                  Entry.signal == h.signal,
                                                  Entry.value == h.value)).one_or_none()
                if e is None:
                    e = Entry(bank_id=bank.id, signal=h.signal, value=h.value, quality=None,
                              status=EntryStatus.ACTIVE.value,
                              source=f"partner:{partner.name}"[:200], note=None,
                              case_ref=None, created_by=actor, created_at=now,
                              updated_at=now)
                    s.add(e)
                    s.flush()
                    if keeps_holders(bank.category):
                        s.add(EntryHolder(entry_id=e.id, holder=HOLDER_ADD, case_id=None,
                                          created_at=now))
                    added += 1
                else:
                    existing += 1
                if h.feedback is not None:
                    self._upsert_opinion(s, e, partner.name, h.feedback, h.tags, now)
            self._audit(s, actor, "exchange.submit", bank=bank.name, partner=partner.name,
                        added=added, existing=existing)
        return added, existing

    @database_errors
    def submit_feedback(self, partner: PartnerRecord, opinions: Sequence[SubmittedOpinion],
                        *, actor: str) -> tuple[int, list[int]]:
        """Record each opinion on every entry of its hash the partner is served (the
        latest opinion of a partner on an entry replaces its earlier one). Returns how
        many entries took one, and the indexes of opinions whose hash it is not served."""
        actor = check_actor(actor)
        now = utcnow()
        recorded = 0
        unknown: list[int] = []
        with self._writing() as s:
            plain, victim = _served_banks(s, partner.fetch_banks)
            served = _served(plain, victim)
            for n, o in enumerate(opinions):
                types = [o.signal] if o.signal else list(FEED_SIGNALS)
                entries = list(s.scalars(select(Entry).where(
                    served, Entry.signal.in_(types), Entry.value == o.value)))
                if not entries:
                    unknown.append(n)
                for e in entries:
                    self._upsert_opinion(s, e, partner.name, o.feedback, o.tags, now)
                    recorded += 1
            self._audit(s, actor, "exchange.feedback", partner=partner.name,
                        recorded=recorded, unknown=len(unknown))
        return recorded, unknown

    # -- tombstones ---------------------------------------------------------------------
    @database_errors
    def purge_tombstones(self, now: datetime | None = None,
                         actor: str = "veil:exchange") -> int:
        """Erase tombstones older than ``VEIL_EXCHANGE_TOMBSTONE_DAYS`` and the
        database's other copies of their hashes; returns how many went."""
        now = now or utcnow()
        cutoff = now - timedelta(days=self.settings.exchange.tombstone_days)
        t = ExchangeTombstone
        with self._reading() as s:  # most rounds find nothing: no write lock for them
            if s.scalar(select(t.id).where(t.at < cutoff).limit(1)) is None:
                return 0
        with self._writing(topic=None) as s:
            gone = s.connection().execute(delete(t).where(t.at < cutoff)).rowcount
            self._audit(s, actor, "exchange.tombstones_purged", count=gone)
        if gone:
            self._erase_table_traces("exchange_tombstones")
        return int(gone)

    def feed_tombstone_count(self) -> int:
        """Tombstones kept now (for tests and ``veil exchange`` status)."""
        with self._reading() as s:
            return int(s.scalar(select(func.count()).select_from(ExchangeTombstone)) or 0)


__all__ = ["FEED_SIGNALS", "ExchangeFeed", "FeedCursor", "FeedItem", "PartnerOpinion",
           "PartnerRecord", "SubmittedHash", "SubmittedOpinion", "could_have_served",
           "still_served", "write_tombstone"]
