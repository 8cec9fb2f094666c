"""Review: the queue of disputed entries, and a reviewer's decision on each.

A disputed entry does not match. A reviewer restores it (it matches again) or
withdraws it (its hash is erased). Review items for individual uploads (media
kept until a deadline) belong to the actions layer and are not here yet.
"""

from __future__ import annotations

from fastapi import Path, Query

from veil.api.admin import entry_out
from veil.api.auth import ActorDep
from veil.api.errors import ApiError
from veil.api.routing import router
from veil.api.schemas import Decision, EntryList, EntryOut
from veil.api.services import ServicesDep

review = router("review", tag="review", extra_statuses=(404, 409))


@review.get("/v1/review/queue", response_model=EntryList,
            summary="Disputed entries awaiting a decision, oldest first")
def queue(services: ServicesDep, actor: ActorDep,
          bank: str | None = Query(None, max_length=64),
          after_id: int | None = Query(None, ge=0, le=2**62),
          limit: int = Query(100, ge=1, le=1000)) -> EntryList:
    entries = services.store.list_entries(status="disputed", bank=bank,
                                          after_id=after_id, limit=limit)
    if entries:
        services.store.audit_read(actor, "review.queue", bank=bank,
                                  entry_ids=[e.id for e in entries])
    return EntryList(entries=[entry_out(e) for e in entries],
                     next_after_id=entries[-1].id if len(entries) == limit else None)


@review.post("/v1/review/entries/{entry_id}/decision", response_model=EntryOut,
             summary="Decide a disputed entry: restore it or withdraw it")
def decide(body: Decision, services: ServicesDep, actor: ActorDep,
           entry_id: int = Path(ge=1, le=2**62)) -> EntryOut:
    current = services.store.get_entry(entry_id)
    if current.status != "disputed":
        raise ApiError(409, "review.not_disputed", f"entry {entry_id} is {current.status}, "
                       "not disputed")
    if body.decision == "restore":
        e = services.store.set_status(entry_id, "active", actor=actor, reason=body.reason)
    else:
        e = services.store.withdraw(entry_id, actor=actor, reason=body.reason)
    return entry_out(e)
