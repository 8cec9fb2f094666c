"""Admin: the exchanges this node pulls from, their status, rejects, and a sync
now (docs/exchange.md). The secret of an exchange never passes through here: the
API takes and shows only where it is (``env:…``/``file:…``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, Field

from veil.api.auth import ActorDep
from veil.api.routing import router
from veil.api.services import ServicesDep
from veil.exchange.credentials import check_reference
from veil.exchange.status import status_json

exchanges = router("admin", tag="admin", extra_statuses=(404, 409))

ExchangeName = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ExchangeIn(BaseModel):
    model_config = {"extra": "forbid"}

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    kind: Literal["stopncii", "veil", "hma"]
    url: str = Field(max_length=2000, description="http(s) base URL of the peer")
    bank: str = Field(max_length=64, description="Bank its hashes go to (made, category "
                      "imported, if missing; one exchange per bank)")
    credentials: str | None = Field(None, max_length=300, description=(
        "Where the secret is: env:VARIABLE or file:/path on the service's host (default "
        "env:VEIL_EXCHANGE_KEY_<NAME>); never the secret itself"))


class ExchangeOut(BaseModel):
    name: str
    kind: str
    url: str
    bank: str
    enabled: bool
    credentials: str | None
    last_fetch: datetime | None
    last_success: datetime | None
    checkpoint: int | None = Field(description="The peer's timestamp the next sync "
                                   "resumes from (StopNCII kinds)")
    full_walk_pending: bool = Field(description="The next sync walks the whole list")
    error: str | None
    counts: dict[str, int]
    entries: int | None = None


class ExchangeList(BaseModel):
    exchanges: list[ExchangeOut]


class RejectOut(BaseModel):
    at: datetime
    reason: str
    record: str


class RejectList(BaseModel):
    rejects: list[RejectOut]


class SyncQueued(BaseModel):
    name: str
    queued: bool = Field(description="The service's sync loop runs it now (see its status)")


def _out(x: Any, entries: int | None = None) -> ExchangeOut:
    return ExchangeOut(**status_json(x), entries=entries)


@exchanges.get("/v1/admin/exchanges", response_model=ExchangeList,
               summary="List exchanges this node pulls from, with their status")
def list_exchanges(services: ServicesDep) -> ExchangeList:
    return ExchangeList(exchanges=[_out(x) for x in services.store.list_exchanges()])


@exchanges.post("/v1/admin/exchanges", response_model=ExchangeOut, status_code=201,
                summary="Add an exchange (its secret stays in the environment or a file)")
def add_exchange(body: ExchangeIn, services: ServicesDep, actor: ActorDep) -> ExchangeOut:
    ref = None if body.credentials is None else check_reference(body.credentials)
    x = services.store.add_exchange(body.name, kind=body.kind, url=body.url, bank=body.bank,
                                    credentials=ref, actor=actor)
    services.exchanges.wake()
    return _out(x)


@exchanges.get("/v1/admin/exchanges/{name}", response_model=ExchangeOut,
               summary="One exchange's status: last fetch, checkpoint, error, counts")
def get_exchange(services: ServicesDep, name: str = ExchangeName) -> ExchangeOut:
    x = services.store.get_exchange(name)
    return _out(x, services.store.exchange_entry_count(name))


@exchanges.get("/v1/admin/exchanges/{name}/rejects", response_model=RejectList,
               summary="Records the exchange sent that were refused, newest first")
def exchange_rejects(services: ServicesDep, name: str = ExchangeName,
                     limit: int = Query(100, ge=1, le=1000)) -> RejectList:
    return RejectList(rejects=[RejectOut(at=r.at, reason=r.reason, record=r.record)
                               for r in services.store.exchange_rejects(name, limit=limit)])


@exchanges.post("/v1/admin/exchanges/{name}/sync", response_model=SyncQueued,
                status_code=202, summary="Sync the exchanges now, not at the next interval")
def sync_exchange_now(services: ServicesDep, name: str = ExchangeName) -> SyncQueued:
    services.store.get_exchange(name)  # 404 for an unknown name
    services.exchanges.wake()
    return SyncQueued(name=name, queued=True)
