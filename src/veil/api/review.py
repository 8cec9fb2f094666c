"""Review: the queue of disputed entries, and a reviewer's decision on each; the
review items of uploads (``veil.review``), listed and decided with a review key.

A disputed entry does not match. A reviewer restores it (it matches again) or
withdraws it (its hash is erased). A review item is an upload kept, sealed, for a
person to look at: these routes list and decide them; the picture itself is shown
only on the reviewer page (``review_page``, a session made from the key), blurred
until the reviewer reveals it.
"""

from __future__ import annotations

from fastapi import Path, Query
from pydantic import BaseModel, Field

from veil.api.admin import entry_out
from veil.api.auth import ActorDep
from veil.api.errors import ApiError
from veil.api.routing import router
from veil.api.schemas import Decision, EntryList, EntryOut
from veil.api.services import ServicesDep
from veil.review.decisions import Code
from veil.review.decisions import decide as decide_item
from veil.review.items import describe
from veil.store.reviews import UNDECIDED

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


ITEM_ID = Path(pattern=r"^[0-9a-f-]{36}$", description="A review item's id")


class ItemDecision(BaseModel):
    model_config = {"extra": "forbid"}

    code: Code = Field(description=(
        "confirmed_ncii / synthetic_ncii: the item's signals join the confirmed bank; "
        "not_ncii: they join the allowlist; unclear: another reviewer decides"))
    note: str | None = Field(None, max_length=1000)


@review.get("/v1/review/items", summary="Review items awaiting a decision, most urgent "
            "first, with the time left to act")
def items(services: ServicesDep, actor: ActorDep,
          limit: int = Query(100, ge=1, le=1000)) -> dict[str, object]:
    found = services.store.review_items(statuses=UNDECIDED, limit=limit)
    return {"items": [describe(i) for i in found]}


@review.get("/v1/review/items/{item_id}", summary="One review item (never its media)")
def item(services: ServicesDep, actor: ActorDep, item_id: str = ITEM_ID) -> dict[str, object]:
    return describe(services.store.review_item(item_id))


@review.post("/v1/review/items/{item_id}/decision",
             summary="Decide a review item with a reason code")
async def decide_review_item(body: ItemDecision, services: ServicesDep, actor: ActorDep,
                             item_id: str = ITEM_ID) -> dict[str, object]:
    decided = await services.in_worker(lambda: decide_item(
        services.store, services.settings, item_id, body.code, actor=actor, note=body.note))
    return describe(decided)
