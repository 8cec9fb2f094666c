"""Platform: check hashes (``/v1/match``) or media (``/v1/scan``) against the banks.

An uploaded file is read into memory, hashed, and dropped: it is never written to
disk, the database or the logs. The response carries its signals and verdict.
"""

from __future__ import annotations

from fastapi import Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from veil.api.errors import ApiError
from veil.api.routing import router
from veil.api.schemas import MatchRequest, MatchResponse, ScanResponse
from veil.api.services import Services
from veil.api.upload import RAW_TYPES, read_upload
from veil.config import Settings
from veil.errors import MediaTooLarge, SignalError
from veil.signals import get as get_signal
from veil.signals.batch import FileSignals
from veil.verdict import MatchedEntry

platform = router("platform", tag="platform")

#: Batches up to this size are matched on the event loop (a few hundred µs);
#: larger ones in a worker thread, so they never hold up other requests.
INLINE_BATCH = 16
#: Signals every scan reports, whatever the banks hold.
ALWAYS = ("pdq", "md5")


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def match_out(m: MatchedEntry) -> dict[str, object]:
    out: dict[str, object] = {"signal": m.signal, "entry_id": m.entry_id, "bank": m.bank,
                              "category": m.category, "distance": m.distance,
                              "threshold": m.threshold}
    if m.variant:
        out["variant"] = m.variant
    return out


def _match(services: Services, body: MatchRequest) -> dict[str, object]:
    live = services.live
    thresholds: dict[str, int] = {}
    for name, t in (body.thresholds or {}).items():
        try:
            st = get_signal(name)
        except SignalError as exc:
            raise ApiError(422, exc.code, f"thresholds: {exc.message}") from None
        thresholds[st.name] = live.matcher.threshold(st.name, t)
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
    answers: list[list[MatchedEntry]] = [[] for _ in queries]
    for signal, positions in by_signal.items():
        found = live.match_many(signal, [queries[i][1] for i in positions],
                                thresholds.get(signal))
        for i, hits in zip(positions, found, strict=True):
            answers[i] = hits
    results = []
    found_all: list[MatchedEntry] = []
    for i, ((signal, _), found) in enumerate(zip(queries, answers, strict=True)):
        found_all += found
        verdict = live.decide(found)
        results.append({"index": i, "signal": signal, "decision": verdict.decision,
                        "matches": [match_out(m) for m in verdict.matches]})
    services.matched(found_all)
    return {"results": results}


@platform.post("/v1/match", response_model=MatchResponse,
               summary="Match up to 1000 hashes against the banks")
async def match(body: MatchRequest, request: Request) -> JSONResponse:
    services = _services(request)
    if len(body.signals) > services.settings.api.max_batch:
        raise ApiError(422, "input.too_many",
                       f"at most {services.settings.api.max_batch} signals per request")
    services.live.matcher  # noqa: B018 (503 while the index loads)
    if len(body.signals) <= INLINE_BATCH:
        out = _match(services, body)
    else:
        out = await run_in_threadpool(_match, services, body)
    return JSONResponse(out)


def hash_upload(data: bytes, settings: Settings, names: tuple[str, ...],
                dihedral: bool) -> FileSignals:
    """Signals of an uploaded file (in memory; nothing is written)."""
    from veil.media.source import Media
    from veil.signals.batch import hash_media

    try:
        media = Media.from_bytes(data, settings.media, "upload")
        return hash_media(media, tuple(dict.fromkeys((*ALWAYS, *names))), dihedral=dihedral)
    except MemoryError:
        raise MediaTooLarge("not enough memory to decode this file") from None


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


@platform.post("/v1/scan", response_model=ScanResponse,
               openapi_extra={"requestBody": _SCAN_BODY},
               summary="Hash an uploaded image (then drop it) and match it against the banks")
async def scan(request: Request,
               dihedral: bool = Query(False, description="Also match rotated and mirrored "
                                      "copies (PDQ)"),
               threshold: int | None = Query(None, ge=0, le=256,
                                             description="PDQ threshold in bits")) -> JSONResponse:
    services = _services(request)
    settings = services.settings
    names = services.live.matcher.signal_names()  # 503 while the index loads
    data = await read_upload(request, settings.media.max_bytes)
    try:
        async with services.scan_slots:
            file = await run_in_threadpool(hash_upload, data, settings, names, dihedral)
    finally:
        del data  # the upload is dropped here; only its signals go on
    verdict = services.live.verdict(file, threshold)
    services.matched(list(verdict.matches))
    services.metrics.scans.labels(verdict.decision).inc()
    width, height = file.size or (None, None)
    return JSONResponse({
        "format": file.format, "width": width, "height": height,
        "signals": [s.as_dict() for s in file.signals], "warnings": list(file.warnings),
        "decision": verdict.decision, "reasons": list(verdict.reasons),
        "matches": [match_out(m) for m in verdict.matches]})
