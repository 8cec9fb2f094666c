"""Admin: webhook subscriptions and the dead-letter list (docs/webhooks.md).

A webhook follows one platform key or one bank; its secret is returned once, at
creation, and kept sealed (``veil.actions.sealing``). Every change is audited
under the calling key. The delivery worker hears of changes through the store's
post-commit hook (``services``)."""

from __future__ import annotations

from fastapi import Path, Query

from veil.actions.subscriptions import add_webhook
from veil.api.auth import ActorDep
from veil.api.routing import router
from veil.api.schemas import (
    DeadLetterList,
    DeliveryOut,
    ReplayIn,
    ReplayOut,
    WebhookCreated,
    WebhookIn,
    WebhookList,
    WebhookOut,
    WebhookRemoved,
)
from veil.api.services import ServicesDep
from veil.store.webhooks import WebhookRecord

webhooks = router("admin", tag="admin", extra_statuses=(404, 409))

WebhookName = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def webhook_out(w: WebhookRecord) -> WebhookOut:
    return WebhookOut(name=w.name, url=w.url, target=w.target,
                      key_id=w.key_id, bank=w.bank, created_by=w.created_by,
                      created_at=w.created_at, deliveries=w.deliveries)


@webhooks.get("/v1/admin/webhooks", response_model=WebhookList,
              summary="List webhooks (never their secrets)")
def list_webhooks(services: ServicesDep) -> WebhookList:
    return WebhookList(webhooks=[webhook_out(w) for w in services.store.list_webhooks()])


@webhooks.post("/v1/admin/webhooks", response_model=WebhookCreated, status_code=201,
               summary="Add a webhook for a platform key or a bank (its secret is shown once)")
def create_webhook(body: WebhookIn, services: ServicesDep, actor: ActorDep) -> WebhookCreated:
    record, secret = add_webhook(services.store, services.sealer, body.name, body.url,
                                 actor=actor, key_id=body.key_id, bank=body.bank)
    return WebhookCreated(**webhook_out(record).model_dump(), secret=secret)


@webhooks.delete("/v1/admin/webhooks/{name}", response_model=WebhookRemoved,
                 summary="Remove a webhook, its secret and its deliveries")
def remove_webhook(services: ServicesDep, actor: ActorDep,
                   name: str = WebhookName) -> WebhookRemoved:
    return WebhookRemoved(name=name,
                          undelivered=services.store.remove_webhook(name, actor=actor))


@webhooks.get("/v1/admin/webhook-dead-letters", response_model=DeadLetterList,
              summary="Deliveries that failed every try, newest first (page with before_id)")
def dead_letters(services: ServicesDep,
                 webhook: str | None = Query(None, max_length=64),
                 before_id: int | None = Query(None, ge=1, le=2**62),
                 limit: int = Query(100, ge=1, le=1000)) -> DeadLetterList:
    found = services.store.dead_letters(webhook=webhook, before_id=before_id, limit=limit)
    return DeadLetterList(
        deliveries=[DeliveryOut(delivery_id=d.delivery_id, webhook=d.webhook, event=d.event,
                                subject=d.subject, status=d.status, attempts=d.attempts,
                                last_error=d.last_error, created_at=d.created_at,
                                finished_at=d.finished_at) for d in found],
        next_before_id=found[-1].id if len(found) == limit else None)


@webhooks.post("/v1/admin/webhook-dead-letters/replay", response_model=ReplayOut,
               summary="Send dead letters again (same delivery ids), from the first try")
def replay(body: ReplayIn, services: ServicesDep, actor: ActorDep) -> ReplayOut:
    return ReplayOut(replayed=services.store.replay_dead_letters(
        actor=actor, ids=body.delivery_ids, webhook=body.webhook))
