"""Platform: check hashes (``/v1/match``) or media (``/v1/scan``) against the banks.

An uploaded file is read into memory, hashed, and dropped: it is never written to
disk, the database or the logs. The response carries its signals and verdict.

A ``block`` or ``review`` verdict is also an event (``scan.verdict``,
``match.verdict``) for the webhooks that follow the caller's key or a matched bank:
it is in the outbox before the answer leaves, so it is delivered at least once
(docs/webhooks.md). Every answer names its request (``Veil-Request-Id``), which the
event repeats.

Signals sent to ``/v1/match`` with an ``upload`` label are decided together, per
upload, through the same ``BankMatcher.verdict`` a scan uses: the same signals give
the same verdict from either route and from ``veil scan``. Every decided upload is
shown to flood protection (``Services.watch``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse

from veil.actions.webhook_events import (
    EVENTFUL,
    MATCH_VERDICT,
    SCAN_VERDICT,
    banks_of,
    match_data,
    scan_data,
)
from veil.api.auth import Principal, PrincipalDep
from veil.api.errors import ApiError
from veil.api.routing import declare, router
from veil.api.schemas import MatchRequest, MatchResponse, ScanResponse
from veil.api.services import Services, ServicesDep
from veil.api.upload import RAW_TYPES, read_upload
from veil.errors import SignalError
from veil.matching import scan_bytes
from veil.matching.scanning import ScanResult
from veil.signals import Signal, SignalType
from veil.signals import get as get_signal
from veil.signals.batch import FileSignals
from veil.store.cases import uuid7
from veil.verdict import Match

platform = router("platform", tag="platform")


def allowed_threshold(services: Services, principal: Principal, st: SignalType,
                      threshold: int) -> int:
    """``threshold`` if this caller may search ``st`` that wide, else 422. The cap
    (``max_thresholds``; by default the configured threshold itself) is what keeps
    distances from giving banked hashes away: asked at 256 bits, the distances of the
    zero hash and the 256 one-bit hashes spell out every banked hash."""
    t = services.live.matcher.threshold(st, threshold)  # within the type's own range
    cap = services.settings.threshold_cap(st)
    wide = principal.key is not None and principal.key.id in (
        services.settings.api.wide_threshold_keys)
    if t > cap and not wide:
        raise ApiError(422, "input.bad_threshold", f"{st.name} threshold {t} is above {cap}, "
                       "the most this service allows: a tighter one is fine, a wider one "
                       "would let answers reveal banked hashes")
    return t


#: The header naming a request, repeated in its webhook events.
REQUEST_ID_HEADER = "Veil-Request-Id"
_SUBJECT_DOC = ("Your reference for what is checked (a post or upload id; at most 200 "
                "characters): webhook events carry it, and one subject's events are "
                "delivered in order. Default: the request id")


async def emit(services: Services, principal: Principal, event: str, subject: str,
               data: dict[str, Any], banks: set[str]) -> None:
    """Put ``event`` in the outbox for the webhooks following the caller's key or one
    of ``banks`` (nothing is written when none does). A failure to write it fails
    the request: the caller retries, and no decided verdict goes unannounced."""
    key = principal.key
    if key is None:
        return
    worker = services.webhooks

    def write() -> int:
        if not worker.targets.wanted(key.id, banks):
            return 0
        return len(services.store.emit(event, subject, data, key_id=key.id, banks=banks))

    if n := await services.in_worker(write):
        services.metrics.webhook_events.labels(event).inc(n)


def _match(services: Services, body: MatchRequest, thresholds: dict[str, int],
           caller: str) -> dict[str, list[dict[str, Any]]]:
    matcher = services.live.matcher
    queries = []
    for i, s in enumerate(body.signals):
        try:
            st = get_signal(s.signal)
            queries.append((st.name, st.parse(s.value)))
        except SignalError as exc:
            raise ApiError(422, exc.code, f"signals[{i}]: {exc.message}") from None
    # one batched index search per signal type, answers put back in request order
    by_signal: dict[str, list[int]] = {}
    for i, (signal, _) in enumerate(queries):
        by_signal.setdefault(signal, []).append(i)
    answers: list[list[Match]] = [[] for _ in queries]
    for signal, positions in by_signal.items():
        per_query = matcher.search(signal, [queries[i][1] for i in positions],
                                   thresholds.get(signal))
        for i, hits in zip(positions, per_query, strict=True):
            answers[i] = hits
    results = []
    listed = services.settings.api.max_matches_listed
    found_all: list[Match] = []
    groups: dict[str, list[int]] = {}
    for i, ((signal, value), found) in enumerate(zip(queries, answers, strict=True)):
        # decided on all, listing cut
        verdict = matcher.decide(found)
        # counted where they counted: not a disabled bank's, not what an allowlist
        # suppressed (a victim's case must not show a known false match as a match)
        found_all += (m for m, _ in verdict.counted())
        results.append({"index": i, "signal": signal,
                        **verdict.as_json(listed, with_reasons=False)})
        label = body.signals[i].upload
        if label is None:
            services.watch({signal: value}, verdict, caller)  # each hash an upload
        else:
            groups.setdefault(label, []).append(i)
    services.matched(found_all)
    reply: dict[str, list[dict[str, Any]]] = {"results": results}
    if groups:
        uploads = []
        for label, positions in groups.items():
            file = FileSignals(label, tuple(
                Signal(queries[i][0], queries[i][1], body.signals[i].quality)
                for i in positions))
            verdict = matcher.verdict(file, thresholds)
            services.watch({s.type: s.value for s in file.signals}, verdict, caller)
            uploads.append({"upload": label, "signals": positions,
                            **verdict.as_json(listed)})
        reply["uploads"] = uploads
    return reply


@platform.post("/v1/match", response_model=MatchResponse,
               summary="Match up to 1000 hashes against the banks")
async def match(body: MatchRequest, services: ServicesDep,
                principal: PrincipalDep) -> JSONResponse:
    if len(body.signals) > services.settings.api.max_batch:
        raise ApiError(422, "input.too_many",
                       f"at most {services.settings.api.max_batch} signals per request")
    services.live.matcher  # noqa: B018 (503 while the index loads)
    thresholds: dict[str, int] = {}
    for name, t in (body.thresholds or {}).items():
        try:
            st = get_signal(name)
        except SignalError as exc:
            raise ApiError(422, exc.code, f"thresholds: {exc.message}") from None
        thresholds[st.name] = allowed_threshold(services, principal, st, t)
    reply = await services.in_worker(_match, services, body, thresholds, principal.actor)
    request_id = uuid7()
    eventful = [r for r in reply["results"] if r["decision"] in EVENTFUL]
    if eventful and principal.key is not None:
        await emit(services, principal, MATCH_VERDICT, body.subject or request_id,
                   match_data(eventful, key_id=principal.key.id, key_name=principal.key.name,
                              request_id=request_id, queries=len(body.signals)),
                   banks_of(eventful))
    return JSONResponse(reply, headers={REQUEST_ID_HEADER: request_id})


_SCAN_BODY = {
    "required": True,
    "content": {
        **{t: {"schema": {"type": "string", "format": "binary"}} for t in RAW_TYPES},
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}}}},
    },
}


def _scan(services: Services, data: bytes, *, dihedral: bool, thresholds: dict[str, int],
          caller: str) -> ScanResult:
    result = scan_bytes(data, services.live.matcher, dihedral=dihedral,
                        thresholds=thresholds, label="upload")
    if result.verdict is not None:
        services.watch({s.type: s.value for s in result.file.signals}, result.verdict,
                       caller)
    return result


@platform.post("/v1/scan", response_model=ScanResponse,
               openapi_extra=declare(body="media", requestBody=_SCAN_BODY),
               summary="Hash an uploaded image (then drop it) and match it against the banks")
async def scan(request: Request, services: ServicesDep, principal: PrincipalDep,
               dihedral: bool = Query(False, description="Also match rotated and mirrored "
                                      "copies (PDQ)"),
               threshold: int | None = Query(None, ge=0, le=256,
                                             description="PDQ threshold in bits"),
               subject: str | None = Query(None, min_length=1, max_length=200,
                                           pattern=r"^[^\x00-\x1f\x7f]+$",
                                           description=_SUBJECT_DOC)) -> JSONResponse:
    settings = services.settings
    services.live.matcher  # noqa: B018 (503 while the index loads)
    overrides = {} if threshold is None else {
        "pdq": allowed_threshold(services, principal, get_signal("pdq"), threshold)}
    data = await read_upload(request, settings.media.max_bytes)
    try:
        # on the scan threads, not the matching ones: a scan waiting for a large
        # decode's turn (veil.media.budget) must not hold up /v1/match
        result = await services.in_worker(
            partial(_scan, services, data, dihedral=dihedral, thresholds=overrides,
                    caller=principal.actor), limiter=services.scan_slots)
    finally:
        del data  # the upload is dropped here; only its signals go on
    file, verdict = result.file, result.verdict
    assert verdict is not None  # scan_bytes raises for undecodable media
    services.matched([m for m, _ in verdict.counted()])
    services.metrics.scans.labels(verdict.decision).inc()
    width, height = file.size or (None, None)
    decided = verdict.as_json(settings.api.max_matches_listed)
    request_id = uuid7()
    if verdict.decision in EVENTFUL and principal.key is not None:
        await emit(services, principal, SCAN_VERDICT, subject or request_id,
                   scan_data(decided, key_id=principal.key.id, key_name=principal.key.name,
                             request_id=request_id), banks_of([decided]))
    return JSONResponse({
        "format": file.format, "width": width, "height": height,
        "signals": [s.as_dict() for s in file.signals], "warnings": list(file.warnings),
        **decided}, headers={REQUEST_ID_HEADER: request_id})
