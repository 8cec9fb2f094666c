"""Admin: banks and their policies, hash-list import/export, entry withdrawal,
disputes and disabling (false positives, with the notes for their source lists),
flood quarantines, API keys, and the audit log. Every change is audited under the
key; the audit log has no route that edits or deletes.

No route here updates the live index or the key cache itself: the store's
post-commit hook does (``services``), so a change matches, or stops matching,
before its response whichever route made it."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import queue
from collections.abc import Iterator
from datetime import datetime
from typing import Literal

from fastapi import Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.requests import ClientDisconnect

from veil.api.auth import ActorDep
from veil.api.errors import ApiError
from veil.api.routing import declare, router
from veil.api.schemas import (
    AuditList,
    AuditOut,
    BankIn,
    BankList,
    BankOut,
    EntryOut,
    FeedbackList,
    FeedbackOut,
    ImportOut,
    KeyCreated,
    KeyIn,
    KeyList,
    KeyOut,
    PartnerIn,
    PartnerOut,
    PolicyPatch,
    QuarantineList,
    QuarantineOut,
    Reason,
    RowErrorOut,
)
from veil.api.services import ServicesDep
from veil.store import BankInfo, EntryRecord, HashRow, ImportReport
from veil.store.exchange_feed import PartnerRecord
from veil.store.hashlist import parse_csv, parse_jsonl, write_hashlist
from veil.store.interface import BankStore
from veil.store.keys import ApiKeyRecord
from veil.store.lines import read_lines
from veil.store.records import FeedbackRecord, QuarantineRecord
from veil.store.vocabulary import Format
from veil.verdict import action_for, policy_of

log = logging.getLogger("veil.api")

admin = router("admin", tag="admin", extra_statuses=(404, 409))

BankName = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
EntryId = Path(ge=1, le=2**62)


def bank_out(b: BankInfo) -> BankOut:
    policy = policy_of(b.policy)
    return BankOut(name=b.name, category=b.category, policy=b.policy,
                   action=action_for(b.category, policy), priority=policy.priority,
                   enabled=policy.enabled, counts=b.counts, created_at=b.created_at,
                   created_by=b.created_by)


def entry_out(e: EntryRecord) -> EntryOut:
    return EntryOut(id=e.id, bank=e.bank, signal=e.signal, value=e.value, quality=e.quality,
                    status=e.status, source=e.source, note=e.note,
                    case_ref=e.case_ref, created_by=e.created_by, created_at=e.created_at,
                    updated_at=e.updated_at)


def key_out(k: ApiKeyRecord) -> KeyOut:
    return KeyOut(id=k.id, name=k.name, prefix=k.prefix, scopes=list(k.scopes),
                  created_by=k.created_by, created_at=k.created_at, revoked_at=k.revoked_at)


# -- banks ----------------------------------------------------------------------------------
@admin.get("/v1/admin/banks", response_model=BankList, summary="List banks")
def list_banks(services: ServicesDep) -> BankList:
    return BankList(banks=[bank_out(b) for b in services.store.list_banks()])


@admin.post("/v1/admin/banks", response_model=BankOut, status_code=201,
            summary="Create a bank")
def create_bank(body: BankIn, services: ServicesDep, actor: ActorDep) -> BankOut:
    policy = body.policy.model_dump(exclude_none=True)
    b = services.store.create_bank(body.name, body.category, policy, actor=actor)
    return bank_out(b)


@admin.get("/v1/admin/banks/{name}", response_model=BankOut, summary="One bank")
def get_bank(services: ServicesDep, name: str = BankName) -> BankOut:
    return bank_out(services.store.get_bank(name))


@admin.patch("/v1/admin/banks/{name}", response_model=BankOut,
             summary="Change a bank's policy: the fields sent (null resets one)")
def update_policy(body: PolicyPatch, services: ServicesDep, actor: ActorDep,
                  name: str = BankName) -> BankOut:
    b = services.store.update_bank_policy(name, body.policy.model_dump(exclude_unset=True),
                                          actor=actor, merge=True)
    return bank_out(b)


# -- import / export ------------------------------------------------------------------------
_FORMATS = {"text/csv": Format.CSV, "application/x-ndjson": Format.JSONL,
            "application/jsonl": Format.JSONL, "application/json-lines": Format.JSONL}


class ImportAborted(OSError):
    pass


class _QueueStream(io.RawIOBase):
    """The request body, as a blocking file for the importer's thread; the event loop
    feeds it chunk by chunk (a small bounded queue: memory stays flat)."""

    def __init__(self) -> None:
        self.chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
        self._left = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        while not self._left and not self._eof:
            chunk = self.chunks.get()
            if isinstance(chunk, BaseException):
                # the upload broke off (client gone, too slow): a truncated list must
                # fail the import, never be taken as the whole list
                raise chunk
            if chunk is None:
                self._eof = True
            else:
                self._left = chunk
        n = min(len(buf), len(self._left))
        buf[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


@admin.post("/v1/admin/banks/{name}/entries", response_model=ImportOut,
            summary="Import a hash list (CSV or JSON lines): all rows or none",
            openapi_extra=declare(body="import", idempotent=False, requestBody={
                "required": True, "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/x-ndjson": {"schema": {"type": "string"}}}}))
async def import_entries(request: Request, services: ServicesDep, actor: ActorDep,
                         name: str = BankName) -> ImportOut:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = _FORMATS.get(ctype)
    if fmt is None:
        raise ApiError(415, "request.unsupported_media_type", "send the hash list as text/csv "
                       "(with a header line) or application/x-ndjson (JSON lines)")
    await run_in_threadpool(services.store.get_bank, name)  # 404 before reading the body
    stream = _QueueStream()
    reader = io.BufferedReader(stream, 1 << 16)
    parse = parse_csv if fmt is Format.CSV else parse_jsonl
    max_line = services.settings.import_max_line_bytes

    def run() -> ImportReport:
        report = services.store.import_entries(
            name, parse(read_lines(reader, max_line)), actor=actor,
            source_name=f"api upload ({fmt.value})")
        return report

    loop = asyncio.get_running_loop()
    worker = loop.run_in_executor(None, run)

    async def feed(item: bytes | BaseException | None) -> None:
        while not worker.done():
            try:
                stream.chunks.put_nowait(item)
                return
            except queue.Full:
                await asyncio.sleep(0.002)

    try:
        async for chunk in request.stream():
            if chunk:
                await feed(chunk)
            if worker.done():
                break
    except BaseException as exc:
        await feed(ImportAborted("the upload did not arrive whole; nothing was imported"))
        with contextlib.suppress(Exception):
            await worker
        if isinstance(exc, ClientDisconnect):
            # nobody is left to answer: not a server error, and nothing was imported
            log.info("import abandoned: the client went away", extra={"bank": name})
            raise ApiError(400, "request.incomplete", "the upload broke off; nothing was "
                           "imported") from None
        raise exc from None
    await feed(None)  # end of input
    r = await worker
    return ImportOut(bank=r.bank, ok=r.ok, rows=r.rows, imported=r.imported,
                     duplicates=r.duplicates, error_count=r.error_count,
                     errors=[RowErrorOut(line=e.line, message=e.message) for e in r.errors])


@admin.get("/v1/admin/banks/{name}/entries", summary="Export a bank's active entries "
           "(streamed)", response_class=StreamingResponse,
           responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}},
                            "description": "The hash list"}})
def export_entries(services: ServicesDep, actor: ActorDep, name: str = BankName,
                   format: Literal["csv", "jsonl"] = Query("csv")) -> StreamingResponse:
    store = services.store
    bank = store.get_bank(name)  # 404 now, not half-way through a stream
    store.audit_read(actor, "bank.export", bank=name, entries=bank.counts["active"],
                     format=format)
    fmt = Format(format)
    media = "text/csv" if fmt is Format.CSV else "application/x-ndjson"
    return StreamingResponse(_export(store, name, fmt), media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}.{format}"'})


def _export(store: BankStore, name: str, fmt: Format) -> Iterator[str]:
    """The hash list in pieces of a few thousand rows (a CSV header only at the top)."""
    rows = store.export_entries(name)
    buf = io.StringIO()
    first = True
    batch: list[HashRow] = []

    def flush() -> str:
        nonlocal first
        write_hashlist(batch, buf, fmt)
        text = buf.getvalue()
        if fmt is Format.CSV and not first:
            text = text.split("\n", 1)[1]  # the header, once
        first = False
        buf.seek(0)
        buf.truncate()
        batch.clear()
        return text

    for row in rows:
        batch.append(row)
        if len(batch) >= 5000:
            yield flush()
    if batch or first:
        yield flush()


# -- entries --------------------------------------------------------------------------------
@admin.get("/v1/admin/entries/{entry_id}", response_model=EntryOut, summary="One entry")
def get_entry(services: ServicesDep, actor: ActorDep, entry_id: int = EntryId) -> EntryOut:
    entry = services.store.get_entry(entry_id)
    services.store.audit_read(actor, "entry.read", bank=entry.bank, entry_id=entry.id)
    return entry_out(entry)


@admin.post("/v1/admin/entries/{entry_id}/withdraw", response_model=EntryOut,
            summary="Withdraw an entry: its hash is erased, the audit record stays")
def withdraw(body: Reason, services: ServicesDep, actor: ActorDep,
             entry_id: int = EntryId) -> EntryOut:
    return entry_out(services.store.withdraw(entry_id, actor=actor, reason=body.reason))


@admin.post("/v1/admin/entries/{entry_id}/dispute", response_model=EntryOut,
            summary="Mark an entry disputed: it stops matching until a reviewer decides")
def dispute(body: Reason, services: ServicesDep, actor: ActorDep,
            entry_id: int = EntryId) -> EntryOut:
    return entry_out(services.store.set_status(entry_id, "disputed", actor=actor,
                                               reason=body.reason))


@admin.post("/v1/admin/entries/{entry_id}/disable", response_model=EntryOut,
            summary="Disable a false positive: it stops matching, its hash is kept (and "
            "its source list is sent a note)")
def disable_entry(body: Reason, services: ServicesDep, actor: ActorDep,
                  entry_id: int = EntryId) -> EntryOut:
    return entry_out(services.store.disable_entry(entry_id, actor=actor, reason=body.reason))


@admin.post("/v1/admin/entries/{entry_id}/enable", response_model=EntryOut,
            summary="Enable a disabled entry: it matches again")
def enable_entry(body: Reason, services: ServicesDep, actor: ActorDep,
                 entry_id: int = EntryId) -> EntryOut:
    return entry_out(services.store.enable_entry(entry_id, actor=actor, reason=body.reason))


def feedback_out(f: FeedbackRecord) -> FeedbackOut:
    return FeedbackOut(id=f.id, entry_id=f.entry_id, bank=f.bank, source=f.source,
                       kind=f.kind, status=f.status,
                       reason=f.reason, created_by=f.created_by, created_at=f.created_at,
                       updated_at=f.updated_at)


@admin.get("/v1/admin/feedback", response_model=FeedbackList,
           summary="Notes for entries' source lists (disabled false positives, reviewers' "
           "decisions on their matches), oldest first")
def list_feedback(services: ServicesDep,
                  status: Literal["pending", "retracted", "sent"] | None = Query(None),
                  bank: str | None = Query(None, max_length=64),
                  after_id: int | None = Query(None, ge=0, le=2**62),
                  limit: int = Query(100, ge=1, le=1000)) -> FeedbackList:
    found = services.store.source_feedback(status=status, bank=bank, after_id=after_id,
                                           limit=limit)
    return FeedbackList(feedback=[feedback_out(f) for f in found],
                        next_after_id=found[-1].id if len(found) == limit else None)


# -- flood quarantines ------------------------------------------------------------------------
def quarantine_out(q: QuarantineRecord) -> QuarantineOut:
    return QuarantineOut(id=q.id, kind=q.kind, bank=q.bank,
                         entry_id=q.entry_id, status=q.status,
                         detail=q.detail, created_at=q.created_at, decided_by=q.decided_by,
                         decided_at=q.decided_at, decision_reason=q.decision_reason)


QuarantineId = Path(ge=1, le=2**62)


@admin.get("/v1/admin/quarantines", response_model=QuarantineList,
           summary="Banks and entries flood protection quarantined, oldest first")
def list_quarantines(services: ServicesDep,
                     status: Literal["active", "released", "confirmed"] | None = Query(None),
                     after_id: int | None = Query(None, ge=0, le=2**62),
                     limit: int = Query(100, ge=1, le=1000)) -> QuarantineList:
    found = services.store.quarantines(status=status, after_id=after_id, limit=limit)
    return QuarantineList(quarantines=[quarantine_out(q) for q in found],
                          next_after_id=found[-1].id if len(found) == limit else None)


@admin.post("/v1/admin/quarantines/{quarantine_id}/release", response_model=QuarantineOut,
            summary="Release a quarantine: its matches count as before")
def release_quarantine(body: Reason, services: ServicesDep, actor: ActorDep,
                       quarantine_id: int = QuarantineId) -> QuarantineOut:
    return quarantine_out(services.store.decide_quarantine(
        quarantine_id, "release", actor=actor, reason=body.reason))


@admin.post("/v1/admin/quarantines/{quarantine_id}/confirm", response_model=QuarantineOut,
            summary="Confirm a quarantine: the entry is disabled (its source gets a note), "
            "or the bank")
def confirm_quarantine(body: Reason, services: ServicesDep, actor: ActorDep,
                       quarantine_id: int = QuarantineId) -> QuarantineOut:
    return quarantine_out(services.store.decide_quarantine(
        quarantine_id, "confirm", actor=actor, reason=body.reason))


# -- keys -----------------------------------------------------------------------------------
@admin.get("/v1/admin/keys", response_model=KeyList, summary="List API keys (never the keys)")
def list_keys(services: ServicesDep) -> KeyList:
    return KeyList(keys=[key_out(k) for k in services.store.list_api_keys()])


@admin.post("/v1/admin/keys", response_model=KeyCreated, status_code=201,
            summary="Create an API key (shown once)")
def create_key(body: KeyIn, services: ServicesDep, actor: ActorDep) -> KeyCreated:
    record, key = services.store.create_api_key(body.scopes, name=body.name,
                                                actor=actor)
    return KeyCreated(**key_out(record).model_dump(), key=key)


@admin.delete("/v1/admin/keys/{key_id}", response_model=KeyOut,
              summary="Revoke an API key (at once)")
def revoke_key(services: ServicesDep, actor: ActorDep,
               key_id: int = Path(ge=1, le=2**62)) -> KeyOut:
    record = services.store.revoke_api_key(key_id, actor=actor)
    return key_out(record)


# -- audit ----------------------------------------------------------------------------------
@admin.get("/v1/admin/audit", response_model=AuditList,
           summary="Audit events, newest first (page with before_id)")
def audit(services: ServicesDep,
          bank: str | None = Query(None, max_length=64),
          entry_id: int | None = Query(None, ge=1, le=2**62),
          action: str | None = Query(None, max_length=64),
          actor: str | None = Query(None, max_length=200),
          since: datetime | None = Query(None), until: datetime | None = Query(None),
          before_id: int | None = Query(None, ge=1, le=2**62),
          limit: int = Query(100, ge=1, le=1000)) -> AuditList:
    for t in (since, until):
        if t is not None and t.tzinfo is None:
            raise ApiError(422, "input.invalid", "since/until need a timezone (e.g. …Z)")
    events = services.store.audit(
        bank=bank, entry_id=entry_id, action=action, actor=actor, since=since, until=until,
        before_id=before_id, limit=limit)
    return AuditList(
        events=[AuditOut(id=a.id, at=a.at, actor=a.actor, action=a.action, bank=a.bank,
                         entry_id=a.entry_id, detail=a.detail) for a in events],
        next_before_id=events[-1].id if len(events) == limit else None)


# -- exchange partners (the hub: /stopncii/v1/) ---------------------------------------------
KeyName = Path(min_length=1, max_length=100, pattern=r"^[^\r\n\x00]+$")


def partner_out(p: PartnerRecord) -> PartnerOut:
    return PartnerOut(key_id=p.key_id, name=p.name, fetch_banks=list(p.fetch_banks),
                      submit_bank=p.submit_bank)


@admin.put("/v1/admin/exchange/partners/{key_name}", response_model=PartnerOut,
           summary="Set what an exchange key may fetch from the hub and submit into it")
def put_partner(body: PartnerIn, services: ServicesDep, actor: ActorDep,
                key_name: str = KeyName) -> PartnerOut:
    return partner_out(services.store.set_partner(key_name, body.fetch_banks,
                                                  body.submit_bank, actor=actor))


@admin.get("/v1/admin/exchange/partners/{key_name}", response_model=PartnerOut,
           summary="What an exchange key may fetch from the hub and submit into it")
def get_partner(services: ServicesDep, key_name: str = KeyName) -> PartnerOut:
    return partner_out(services.store.get_partner(key_name))
