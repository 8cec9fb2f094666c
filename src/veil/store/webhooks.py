"""Webhook subscriptions: created (sealed secret in, nothing in clear), listed, removed.

A subscription follows one platform key (the events of that key's scans and
matches) or one bank (events of any verdict with a match in it). The secret is
handed in already sealed (``veil.actions.sealing`` holds the key); the store never
sees it in clear. Mixed into ``Store``; the outbox is ``outbox``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from veil.errors import BadInput, Conflict, NotFound
from veil.store.coltypes import utcnow
from veil.store.models import (
    NAME_MAX,
    WEBHOOK_URL_MAX,
    ApiKey,
    Bank,
    WebhookDelivery,
    WebhookSubscription,
)
from veil.store.transactions import StoreBase, check_actor, database_errors

_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{NAME_MAX - 1}}}")


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    id: int
    name: str
    url: str
    #: ``key`` or ``bank``: what the subscription follows.
    target: str
    key_id: int | None
    bank: str | None
    created_by: str
    created_at: datetime
    #: Deliveries by status (``pending``, ``delivered``, ``dead``), zeros included.
    deliveries: dict[str, int]


class Webhooks(StoreBase):
    """The ``Store`` methods for webhook subscriptions."""

    @database_errors
    def create_webhook(self, name: str, url: str, secret_sealed: str, *, actor: str,
                       key_id: int | None = None, bank: str | None = None) -> WebhookRecord:
        """A subscription to ``key_id``'s verdicts or ``bank``'s matches (exactly one).
        ``url`` is checked by the caller (``veil.actions.subscriptions``)."""
        if not _NAME.fullmatch(name):
            raise BadInput(f"webhook name must be 1-{NAME_MAX} letters, digits, '_', '.' or "
                           "'-', starting with a letter or digit")
        if (key_id is None) == (bank is None):
            raise BadInput("a webhook follows either a platform key (--key) or a bank "
                           "(--bank), one of the two")
        if not url or len(url) > WEBHOOK_URL_MAX:
            raise BadInput(f"webhook URL must be 1-{WEBHOOK_URL_MAX} characters")
        actor = check_actor(actor)
        try:
            with self._writing(topic="webhooks") as s:
                if s.scalar(select(WebhookSubscription.id)
                            .where(WebhookSubscription.name == name)) is not None:
                    raise Conflict(f"a webhook named {name!r} already exists")
                bank_id = None
                if key_id is not None:
                    key = s.get(ApiKey, key_id)
                    if key is None or key.revoked_at is not None:
                        raise NotFound(f"no active API key {key_id}")
                else:
                    bank_id = s.scalar(select(Bank.id).where(Bank.name == bank))
                    if bank_id is None:
                        raise NotFound(f"no bank named {bank!r}")
                row = WebhookSubscription(
                    name=name, url=url, target="key" if key_id is not None else "bank",
                    key_id=key_id, bank_id=bank_id, secret_sealed=secret_sealed,
                    created_by=actor, created_at=utcnow())
                s.add(row)
                s.flush()
                # the URL is the admin's; never the secret
                self._audit(s, actor, "webhook.create", bank=bank, webhook=name,
                            webhook_id=row.id, url=url, key_id=key_id)
                return WebhookRecord(id=row.id, name=name, url=url, target=row.target,
                                     key_id=key_id, bank=bank, created_by=actor,
                                     created_at=row.created_at,
                                     deliveries=dict.fromkeys(_STATUSES, 0))
        except IntegrityError as exc:  # created concurrently
            raise Conflict(f"a webhook named {name!r} already exists") from exc

    @database_errors
    def list_webhooks(self) -> list[WebhookRecord]:
        with self._reading() as s:
            counts: dict[int, dict[str, int]] = {}
            for sub_id, status, n in s.execute(
                    select(WebhookDelivery.subscription_id, WebhookDelivery.status,
                           func.count()).group_by(WebhookDelivery.subscription_id,
                                                  WebhookDelivery.status)):
                counts.setdefault(sub_id, dict.fromkeys(_STATUSES, 0))[status] = n
            rows = s.execute(select(WebhookSubscription, Bank.name)
                             .outerjoin(Bank, Bank.id == WebhookSubscription.bank_id)
                             .order_by(WebhookSubscription.id))
            return [WebhookRecord(id=w.id, name=w.name, url=w.url, target=w.target,
                                  key_id=w.key_id, bank=bank, created_by=w.created_by,
                                  created_at=w.created_at,
                                  deliveries=counts.get(w.id, dict.fromkeys(_STATUSES, 0)))
                    for w, bank in rows]

    @database_errors
    def remove_webhook(self, name: str, *, actor: str) -> int:
        """Delete the subscription, its sealed secret and all its deliveries (pending,
        delivered and dead: their bodies hold verdicts); the audit keeps that it
        existed. Returns how many undelivered events were dropped."""
        actor = check_actor(actor)
        with self._writing(topic="webhooks") as s:
            row = s.scalar(select(WebhookSubscription).where(WebhookSubscription.name == name)
                           .with_for_update())
            if row is None:
                raise NotFound(f"no webhook named {name!r}")
            dropped = s.scalar(select(func.count()).select_from(WebhookDelivery).where(
                WebhookDelivery.subscription_id == row.id,
                WebhookDelivery.status != "delivered")) or 0
            s.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == row.id))
            s.delete(row)
            self._audit(s, actor, "webhook.remove", webhook=name, webhook_id=row.id,
                        undelivered=dropped)
            return int(dropped)


_STATUSES = ("pending", "delivered", "dead")
