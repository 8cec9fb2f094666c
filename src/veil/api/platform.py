"""Platform: check hashes (``/v1/match``) or media (``/v1/scan``) against the banks,
and forward users' reports (``/v1/reports``).

An uploaded file is read into memory, hashed, and dropped: it is never written to
disk or the logs. The response carries its signals and verdict. The one exception is
a review item (``veil.review``): a scan whose verdict is ``review``, a scan asked to
be reviewed (``?review=1``) and a report keep the upload for a reviewer, sealed
(AES-256-GCM) in the database until its retention deadline; never in clear.

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

from fastapi import Query, Request, status
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
from veil.api.schemas import MatchRequest, MatchResponse, ReportResponse, ScanResponse
from veil.api.services import Services, ServicesDep
from veil.api.upload import RAW_TYPES, Upload, read_upload
from veil.errors import SignalError, VeilError
from veil.matching import scan_bytes, scan_video
from veil.matching.scanning import ScanResult
from veil.media.video import still_jpeg
from veil.review.items import Source, create_item, describe
from veil.signals import Signal, SignalType
from veil.signals import get as get_signal
from veil.signals.batch import FileSignals
from veil.store.cases import uuid7
from veil.store.reviews import ReviewItemRecord
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
    reply, request_id = await match_reply(body, services, principal)
    return JSONResponse(reply, headers={REQUEST_ID_HEADER: request_id})


async def match_reply(body: MatchRequest, services: Services, principal: Principal
                      ) -> tuple[dict[str, list[dict[str, Any]]], str]:
    """What ``/v1/match`` answers to ``body`` and the request's id: thresholds checked
    against the caller's cap, the verdicts, and their webhook events written. Other
    routes that match hashes (``hma``) call this, so they answer and announce exactly
    what ``/v1/match`` would."""
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
    return reply, request_id


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

_REPORT_BODY = {
    "required": True,
    "content": {
        **{t: {"schema": {"type": "string", "format": "binary"}} for t in RAW_TYPES},
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        "video/mp4": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"},
                           "reason": {"type": "string", "maxLength": 200},
                           "notes": {"type": "string", "maxLength": 2000}}}},
    },
}

def _scan(services: Services, upload: Upload, *, dihedral: bool,
          thresholds: dict[str, int], caller: str) -> ScanResult:
    if upload.path is not None and upload.video_format is not None:
        result = scan_video(upload.path, upload.video_format, services.live.matcher,
                            thresholds=thresholds, label="upload")
    else:
        result = scan_bytes(upload.data, services.live.matcher, dihedral=dihedral,
                            thresholds=thresholds, label="upload")
    if result.verdict is not None:
        services.watch({s.type: s.value for s in result.file.signals}, result.verdict,
                       caller)
    return result


async def _scanned(request: Request, services: Services, principal: Principal,
                   dihedral: bool, threshold: int | None, fields: tuple[str, ...] = ()
                   ) -> tuple[Upload, ScanResult]:
    """Read the upload (and ``fields`` of a multipart body), hash and decide it. The
    caller closes the upload (a video's temporary file is deleted then)."""
    settings = services.settings
    services.live.matcher  # noqa: B018 (503 while the index loads)
    overrides = {} if threshold is None else {
        "pdq": allowed_threshold(services, principal, get_signal("pdq"), threshold)}
    upload = await read_upload(request, settings.media, settings.home, fields)
    try:
        # on the scan threads, not the matching ones: a scan waiting for a large
        # decode's turn (veil.media.budget) must not hold up /v1/match
        result = await services.in_worker(
            partial(_scan, services, upload, dihedral=dihedral, thresholds=overrides,
                    caller=principal.actor), limiter=services.scan_slots)
    except BaseException:
        upload.close()
        raise
    assert result.verdict is not None  # scanning raises for undecodable media
    services.matched([m for m, _ in result.verdict.counted()])
    services.metrics.scans.labels(result.verdict.decision).inc()
    return upload, result


def _scan_reply(decided: dict[str, object], result: ScanResult) -> dict[str, object]:
    file = result.file
    width, height = file.size or (None, None)
    video = {} if file.video is None else {"video": file.video.as_json()}
    return {"format": file.format, "width": width, "height": height,
            "signals": [s.as_dict() for s in file.signals], **video,
            "warnings": list(file.warnings), **decided}


async def _keep_for_review(services: Services, principal: Principal, source: Source,
                           upload: Upload, result: ScanResult, decided: dict[str, Any],
                           reason: str | None = None,
                           notes: str | None = None) -> ReviewItemRecord:
    """A review item for this upload: its bytes sealed and stored (on a worker
    thread: sealing 50 MB takes a few tens of milliseconds). Of a video, one still is
    kept: the frame where the first match begins (else the first frame), as JPEG — a
    reviewer sees a still, never a playing video, and a video may be too large to
    keep."""
    def keep() -> ReviewItemRecord:
        data, fmt = upload.data, result.file.format
        if upload.path is not None:
            data, fmt = still_jpeg(upload.path, _first_match_at(result),
                                   services.settings.media.video), "jpeg"
        return create_item(
            services.store, services.media_sealer, services.settings, source=source,
            platform=principal.actor, data=data, fmt=fmt, verdict=decided,
            signals=[s.as_dict() for s in result.file.signals], report_reason=reason,
            report_notes=notes)

    return await services.in_worker(keep)


def _first_match_at(result: ScanResult) -> float:
    """Where in a video its first match begins (0: no match says)."""
    starts = [m.video.query_ranges[0][0] for m in (result.verdict.matches if result.verdict
                                                   else ())
              if m.video is not None and m.video.query_ranges]
    return min(starts, default=0.0)


def _item_ref(item: ReviewItemRecord) -> dict[str, object]:
    view = describe(item)
    return {k: view[k] for k in ("id", "status", "source", "act_by", "time_left_s",
                                 "retain_until")}


@platform.post("/v1/scan", response_model=ScanResponse,
               openapi_extra=declare(body="media", requestBody=_SCAN_BODY),
               summary="Hash an uploaded image (then drop it, unless it goes to review) and "
               "match it against the banks")
async def scan(request: Request, services: ServicesDep, principal: PrincipalDep,
               dihedral: bool = Query(False, description="Also match rotated and mirrored "
                                      "copies (PDQ)"),
               threshold: int | None = Query(None, ge=0, le=256,
                                             description="PDQ threshold in bits"),
               subject: str | None = Query(None, min_length=1, max_length=200,
                                           pattern=r"^[^\x00-\x1f\x7f]+$",
                                           description=_SUBJECT_DOC),
               review: bool = Query(False, description=(
                   "Keep the upload for a person to review, whatever the verdict: it is "
                   "sealed and stored until its retention deadline (docs/review.md); 507 "
                   "review.queue_full when the queue is full")),
               ) -> JSONResponse:
    upload, result = await _scanned(request, services, principal, dihedral, threshold)
    try:
        verdict = result.verdict
        assert verdict is not None
        decided = verdict.as_json(services.settings.api.max_matches_listed)
        reply = _scan_reply(decided, result)
        wanted = review or (verdict.decision == "review"
                            and services.settings.review.from_verdicts)
        if wanted:
            source: Source = "review_request" if review else "scan"
            try:
                item = await _keep_for_review(services, principal, source, upload, result,
                                              decided)
            except VeilError as exc:
                if review:  # the caller asked for it: say why there is none
                    raise
                # a review verdict is answered whatever the queue's state; the reply
                # says why no item was made
                reply["review_item_error"] = {"code": exc.code, "message": exc.message}
            else:
                reply["review_item"] = _item_ref(item)
    finally:
        upload.close()  # the upload is dropped here (a video's temporary file deleted);
        # only its signals (and a sealed copy, for review) go on
    request_id = uuid7()
    if verdict.decision in EVENTFUL and principal.key is not None:
        await emit(services, principal, SCAN_VERDICT, subject or request_id,
                   scan_data(decided, key_id=principal.key.id, key_name=principal.key.name,
                             request_id=request_id), banks_of([decided]))
    return JSONResponse(reply, headers={REQUEST_ID_HEADER: request_id})


@platform.post("/v1/reports", response_model=ReportResponse,
               status_code=status.HTTP_201_CREATED,
               openapi_extra=declare(body="media", requestBody=_REPORT_BODY),
               summary="Forward a user's report of an upload: it becomes a review item")
async def report(request: Request, services: ServicesDep, principal: PrincipalDep,
                 reason: str | None = Query(None, max_length=200, description=(
                     "Why the user reported it (with a raw body; a multipart body may "
                     "send it as a field instead)")),
                 notes: str | None = Query(None, max_length=2000, description=(
                     "The user's own words, as the platform forwards them"))
                 ) -> JSONResponse:
    upload, result = await _scanned(request, services, principal, False, None,
                                    fields=("reason", "notes"))
    found = upload.fields
    try:
        assert result.verdict is not None
        decided = result.verdict.as_json(services.settings.api.max_matches_listed)
        reason = (found.get("reason") or reason or "").strip()[:200] or None
        notes = (found.get("notes") or notes or "").strip()[:2000] or None
        item = await _keep_for_review(services, principal, "report", upload, result,
                                      decided, reason, notes)
    finally:
        upload.close()
    return JSONResponse({"review_item": _item_ref(item), **_scan_reply(decided, result)},
                        status_code=201)
