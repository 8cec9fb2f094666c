"""Veil as a StopNCII-compatible hub (``/stopncii/v1/``), for partners holding an
``exchange`` key: ``GET FetchHashes``, ``POST SubmitHashes``, ``POST SubmitFeedback``,
shaped as StopNCII's API so its clients (python-threatexchange's ``StopNCIIAPI``,
the ``threatexchange`` CLI) work against it unchanged (docs/exchange.md).

The key may come as ``x-functions-key`` or ``Ocp-Apim-Subscription-Key`` (the real
client sends both: either valid ``exchange`` key is accepted) or as
``Authorization: Bearer``; ``authenticate`` checks it before the body is read.
What a partner may fetch and where its hashes go is its ``ExchangePartner``
configuration (``PUT /v1/admin/exchange/partners/{key_name}``). The work is in
``veil.exchange.hub``; this module is the HTTP around it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

from veil.api.auth import ActorDep, PrincipalDep, functions_key, subscription_key
from veil.api.routing import router
from veil.api.services import ServicesDep
from veil.exchange import hub
from veil.exchange.stopncii_format import SubmitFeedback, SubmitHashes
from veil.store.exchange_feed import PartnerRecord

stopncii = router("exchange", tag="exchange", extra_statuses=(), key_headers=(
    functions_key, subscription_key))


class FeedbackOut(BaseModel):
    feedbackValue: str
    tags: list[str]
    source: str = Field(description="The partner key's name that gave it")


class HashRecordOut(BaseModel):
    lastModtimestamp: int = Field(description="When the record last changed (Unix s)")
    signalType: str = Field(description="ImagePDQ or VideoMD5")
    hashValue: str
    hashStatus: str = Field(description="Active; Withdrawn or Deleted: delete the hash")
    caseNumbers: dict[str, str] = Field(description=(
        "Opaque references of the consenting cases holding a victim's hash (never a "
        "case id or token) → Active"))
    CSPFeedbacks: list[FeedbackOut]


class FetchHashesOut(BaseModel):
    count: int = Field(description="Records in this page")
    nextPageToken: str | None = Field(description="Pass back for the next page")
    nextSetTimestamp: int = Field(description=(
        "The checkpoint: the startTimestamp of the next fetch once this walk ends"))
    hasMoreRecords: bool
    hashRecords: list[HashRecordOut]


class SubmitHashesOut(BaseModel):
    count: int = Field(description=(
        "Hashes taken (never whether the bank had them already)"))


class SubmitFeedbackOut(BaseModel):
    count: int
    recorded: int = Field(description="Entries that took an opinion")
    notFound: list[int] = Field(description=(
        "Indexes of hashFeedbacks whose hash this partner is not served"))


async def _partner(services: ServicesDep, principal: PrincipalDep) -> PartnerRecord:
    assert principal.key is not None  # the route needs a key
    return await services.in_worker(services.store.partner_for_key, principal.key.id)


@stopncii.get("/stopncii/v1/FetchHashes", response_model=FetchHashesOut,
              summary="The partner's feed of shared hashes, changed since startTimestamp")
async def fetch_hashes(
        services: ServicesDep, principal: PrincipalDep,
        startTimestamp: Annotated[int, Query(ge=0, le=2**40, description=(
            "Unix seconds: records changed at or after it"))] = 0,
        pageSize: Annotated[int | None, Query(ge=1, le=2**31, description=(
            "Records per page (default 800; at most VEIL_EXCHANGE_PAGE_SIZE)"))] = None,
        nextPageToken: Annotated[str | None, Query(max_length=hub.TOKEN_MAX)] = None,
) -> dict[str, object]:
    partner = await _partner(services, principal)
    size = hub.page_size(pageSize, services.settings)
    return await services.in_worker(lambda: hub.read_page(
        services.store, partner, services.case_refs, start_timestamp=startTimestamp,
        size=size, token=nextPageToken or None))


@stopncii.post("/stopncii/v1/SubmitHashes", response_model=SubmitHashesOut,
               summary="Add hashes to the partner's submit bank (all or none)")
async def submit_hashes(body: SubmitHashes, services: ServicesDep, principal: PrincipalDep,
                        actor: ActorDep) -> dict[str, object]:
    partner = await _partner(services, principal)
    return await services.in_worker(lambda: hub.submit_hashes(
        services.store, partner, body, actor=actor))


@stopncii.post("/stopncii/v1/SubmitFeedback", response_model=SubmitFeedbackOut,
               summary="The partner's opinion of hashes it is served (latest wins)")
async def submit_feedback(body: SubmitFeedback, services: ServicesDep,
                          principal: PrincipalDep, actor: ActorDep) -> dict[str, object]:
    partner = await _partner(services, principal)
    return await services.in_worker(lambda: hub.submit_feedback(
        services.store, partner, body, actor=actor))
