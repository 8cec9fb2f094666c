"""The webhook outbox: events enqueued in the transaction that decided them, claimed by
a delivery worker in order per subject, retried, delivered or dead-lettered.

``enqueue(session, event, subject, payload, key_id=…, banks=…)`` is the one way an
event enters: any write transaction of the store (a review decision, a quarantine)
can call it on its own session, so the event commits with the change or not at all.
It lives here, in the store, rather than in ``veil.actions``, so that store code
below ``veil.actions`` can call it too; ``veil.actions.webhook_events`` builds the
payloads and ``veil.actions.delivery`` sends them.

Order: a delivery is due only when no earlier delivery of the same subscription and
subject is still pending (a dead letter no longer holds the ones after it).
At least once: a claim moves ``next_at`` past the try's timeout (a lease); a
process that dies mid-try leaves the row to be claimed again when it lapses, so a
receiver may see a delivery twice and must de-duplicate by its delivery id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from veil.errors import BadInput, NotFound
from veil.store.cases import uuid7
from veil.store.coltypes import utcnow
from veil.store.models import (
    SUBJECT_MAX,
    Bank,
    WebhookDelivery,
    WebhookSubscription,
)
from veil.store.transactions import ENQUEUED, StoreBase, check_actor, database_errors

#: Longest event type (``scan.verdict``).
EVENT_MAX = 64
#: Longest error kept on a delivery (the receiver's status, or why it failed).
ERROR_MAX = 300


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A claimed delivery: what the worker sends, and where."""

    id: int
    delivery_id: str
    event: str
    subject: str
    body: str
    #: Tries so far, this one included.
    attempts: int
    url: str
    secret_sealed: str
    webhook: str


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """A delivery as admins see it (the dead-letter list): never its body."""

    id: int
    delivery_id: str
    webhook: str
    event: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class WebhookTargets:
    """What the subscriptions follow: enough to skip ``emit`` when nobody listens."""

    key_ids: frozenset[int]
    banks: frozenset[str]

    def wanted(self, key_id: int | None, banks: Iterable[str]) -> bool:
        return (key_id is not None and key_id in self.key_ids) or any(
            b in self.banks for b in banks)


def enqueue(session: Session, event: str, subject: str, payload: dict[str, Any], *,
            key_id: int | None = None, banks: Iterable[str] = ()) -> list[str]:
    """Put ``event`` about ``subject`` in the outbox, in ``session``'s transaction, for
    every subscription following ``key_id`` or any of ``banks``; returns the delivery
    ids (none when nobody subscribes). ``payload`` is the event's ``data``: never
    media bytes or banked hash values."""
    if not event or len(event) > EVENT_MAX:
        raise BadInput(f"event type must be 1-{EVENT_MAX} characters")
    if len(subject) > SUBJECT_MAX:
        raise BadInput(f"subject must be at most {SUBJECT_MAX} characters")
    in_banks = select(Bank.id).where(Bank.name.in_(set(banks)))
    wanted: list[ColumnElement[bool]] = [WebhookSubscription.bank_id.in_(in_banks)]
    if key_id is not None:
        wanted.append(WebhookSubscription.key_id == key_id)
    subs = session.scalars(select(WebhookSubscription.id).where(or_(*wanted))
                           .order_by(WebhookSubscription.id)).all()
    if not subs:
        return []
    now = utcnow()
    event_id = uuid7()
    ids = []
    for sub in subs:
        delivery_id = uuid7()
        body = json.dumps({"id": event_id, "delivery_id": delivery_id, "type": event,
                           "created_at": now.isoformat().replace("+00:00", "Z"),
                           "subject": subject, "data": payload},
                          separators=(",", ":"), ensure_ascii=False)
        session.add(WebhookDelivery(
            delivery_id=delivery_id, subscription_id=sub, event=event, subject=subject,
            body=body, status="pending", attempts=0, next_at=now, created_at=now))
        ids.append(delivery_id)
    session.info[ENQUEUED] = True  # the store tells its hooks after commit
    return ids


def _record(d: WebhookDelivery, webhook: str) -> DeliveryRecord:
    return DeliveryRecord(id=d.id, delivery_id=d.delivery_id, webhook=webhook, event=d.event,
                          subject=d.subject, status=d.status, attempts=d.attempts,
                          last_error=d.last_error, created_at=d.created_at,
                          finished_at=d.finished_at)


class Outbox(StoreBase):
    """The ``Store`` methods of the webhook outbox."""

    @database_errors
    def emit(self, event: str, subject: str, payload: dict[str, Any], *,
             key_id: int | None = None, banks: Iterable[str] = ()) -> list[str]:
        """``enqueue`` in a transaction of its own (an event nothing else is written
        with: a scan's verdict)."""
        with self._writing(topic=None) as s:
            return enqueue(s, event, subject, payload, key_id=key_id, banks=banks)

    @database_errors
    def webhook_targets(self) -> WebhookTargets:
        with self._reading() as s:
            rows = s.execute(select(WebhookSubscription.key_id, Bank.name)
                             .outerjoin(Bank, Bank.id == WebhookSubscription.bank_id)).all()
        return WebhookTargets(frozenset(k for k, _ in rows if k is not None),
                              frozenset(b for _, b in rows if b is not None))

    @database_errors
    def claim_deliveries(self, *, limit: int, lease_s: float) -> list[DueDelivery]:
        """Due deliveries, the first pending one of each subject only, oldest first;
        each is claimed (its try counted, ``next_at`` moved ``lease_s`` ahead) so no
        other worker takes it meanwhile."""
        now = utcnow()
        d = WebhookDelivery
        earlier = aliased(WebhookDelivery)
        blocked = exists().where(earlier.subscription_id == d.subscription_id,
                                 earlier.subject == d.subject, earlier.status == "pending",
                                 earlier.id < d.id)
        q = (select(d, WebhookSubscription.url, WebhookSubscription.secret_sealed,
                    WebhookSubscription.name)
             .join(WebhookSubscription, WebhookSubscription.id == d.subscription_id)
             .where(d.status == "pending", d.next_at <= now, ~blocked)
             .order_by(d.id).limit(limit))
        with self._writing(topic=None) as s:
            if s.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(of=d, skip_locked=True)  # several workers
            out = []
            for row, url, sealed, name in s.execute(q):
                row.attempts += 1
                row.next_at = now + timedelta(seconds=lease_s)
                out.append(DueDelivery(id=row.id, delivery_id=row.delivery_id,
                                       event=row.event, subject=row.subject, body=row.body,
                                       attempts=row.attempts, url=url, secret_sealed=sealed,
                                       webhook=name))
            return out

    @database_errors
    def delivery_succeeded(self, row_id: int) -> None:
        with self._writing(topic=None) as s:
            s.execute(update(WebhookDelivery).where(WebhookDelivery.id == row_id,
                                                    WebhookDelivery.status == "pending")
                      .values(status="delivered", finished_at=utcnow(), last_error=None))

    @database_errors
    def delivery_failed(self, row_id: int, error: str, *, retry_at: datetime | None) -> None:
        """A failed try: due again at ``retry_at``, or (None) dead-lettered."""
        values: dict[str, Any] = {"last_error": error[:ERROR_MAX]}
        if retry_at is None:
            values.update(status="dead", finished_at=utcnow())
        else:
            values["next_at"] = retry_at
        with self._writing(topic=None) as s:
            s.execute(update(WebhookDelivery).where(WebhookDelivery.id == row_id,
                                                    WebhookDelivery.status == "pending")
                      .values(**values))

    @database_errors
    def release_deliveries(self, row_ids: Sequence[int]) -> None:
        """Claimed but never tried (the worker is stopping): due again now, the try not
        counted."""
        if not row_ids:
            return
        with self._writing(topic=None) as s:
            s.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(row_ids),
                                                    WebhookDelivery.status == "pending")
                      .values(next_at=utcnow(), attempts=WebhookDelivery.attempts - 1))

    @database_errors
    def dead_letters(self, *, webhook: str | None = None, before_id: int | None = None,
                     limit: int = 100) -> list[DeliveryRecord]:
        """Dead-lettered deliveries, newest first."""
        with self._reading() as s:
            q = (select(WebhookDelivery, WebhookSubscription.name)
                 .join(WebhookSubscription,
                       WebhookSubscription.id == WebhookDelivery.subscription_id)
                 .where(WebhookDelivery.status == "dead"))
            if webhook is not None:
                q = q.where(WebhookSubscription.name == webhook)
            if before_id is not None:
                q = q.where(WebhookDelivery.id < before_id)
            q = q.order_by(WebhookDelivery.id.desc()).limit(limit)
            return [_record(d, name) for d, name in s.execute(q)]

    @database_errors
    def replay_dead_letters(self, *, actor: str, ids: Sequence[str] | None = None,
                            webhook: str | None = None) -> int:
        """Dead letters back to pending, tries reset, due now: the ``ids`` (delivery
        ids) given, else every one (of ``webhook``, if given). Their delivery ids stay:
        a receiver that did process one skips it. Returns how many."""
        actor = check_actor(actor)
        d = WebhookDelivery
        cond = [d.status == "dead"]
        if ids is not None:
            if not ids:
                raise BadInput("name at least one delivery id to replay")
            cond.append(d.delivery_id.in_(list(ids)))
        if webhook is not None:
            cond.append(d.subscription_id.in_(select(WebhookSubscription.id)
                                             .where(WebhookSubscription.name == webhook)))
        with self._writing(topic=None) as s:
            if webhook is not None and s.scalar(select(WebhookSubscription.id).where(
                    WebhookSubscription.name == webhook)) is None:
                raise NotFound(f"no webhook named {webhook!r}")
            found = s.scalars(select(d.id).where(and_(*cond))).all()
            if ids is not None and len(found) != len(set(ids)):
                raise NotFound(f"{len(set(ids)) - len(found)} of the delivery ids are not "
                               "dead letters (unknown, pending or delivered)")
            if found:
                s.execute(update(d).where(d.id.in_(found)).values(
                    status="pending", attempts=0, next_at=utcnow(), finished_at=None))
                s.info[ENQUEUED] = True
            self._audit(s, actor, "webhook.replay", webhook=webhook, deliveries=len(found))
            return len(found)

    @database_errors
    def purge_delivered(self, older_than: datetime) -> int:
        """Delete delivered rows finished before ``older_than``; returns how many."""
        with self._writing(topic=None) as s:
            result = s.execute(delete(WebhookDelivery).where(
                WebhookDelivery.status == "delivered",
                WebhookDelivery.finished_at < older_than))
            return int(getattr(result, "rowcount", 0) or 0)

    @database_errors
    def outbox_counts(self) -> dict[str, int]:
        with self._reading() as s:
            counts = dict.fromkeys(("pending", "delivered", "dead"), 0)
            for status, n in s.execute(select(WebhookDelivery.status, func.count())
                                       .group_by(WebhookDelivery.status)):
                counts[status] = n
            return counts
