"""Platform: check hashes (``/v1/match``) or media (``/v1/scan``) against the banks.

An uploaded picture is read into memory, hashed, and dropped: it is never written to
disk, the database or the logs. A video goes to a temporary file (PyAV decodes from
files), deleted when its scan ends (``api/upload.py``). The response carries the
signals and the verdict.
"""

from __future__ import annotations

from functools import partial

from fastapi import Query, Request
from fastapi.responses import JSONResponse

from veil.api.auth import Principal, PrincipalDep
from veil.api.errors import ApiError
from veil.api.routing import declare, router
from veil.api.schemas import MatchRequest, MatchResponse, ScanResponse
from veil.api.services import Services, ServicesDep
from veil.api.upload import RAW_TYPES, read_upload
from veil.errors import SignalError
from veil.matching import scan_bytes, scan_video
from veil.signals import SignalType
from veil.signals import get as get_signal
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


def _match(services: Services, body: MatchRequest,
           thresholds: dict[str, int]) -> dict[str, object]:
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
    for i, ((signal, _), found) in enumerate(zip(queries, answers, strict=True)):
        found_all += found
        # decided on all, listing cut
        verdict = matcher.decide(found).as_json(listed, with_reasons=False)
        results.append({"index": i, "signal": signal, **verdict})
    services.matched(found_all)
    return {"results": results}


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
    return JSONResponse(await services.in_worker(_match, services, body, thresholds))


_SCAN_BODY = {
    "required": True,
    "content": {
        **{t: {"schema": {"type": "string", "format": "binary"}} for t in RAW_TYPES},
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        "video/mp4": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}}}},
    },
}


@platform.post("/v1/scan", response_model=ScanResponse,
               openapi_extra=declare(body="media", requestBody=_SCAN_BODY),
               summary="Hash an uploaded image or video (then drop it) and match it against "
                       "the banks")
async def scan(request: Request, services: ServicesDep, principal: PrincipalDep,
               dihedral: bool = Query(False, description="Also match rotated and mirrored "
                                      "copies (PDQ)"),
               threshold: int | None = Query(None, ge=0, le=256,
                                             description="PDQ threshold in bits")) -> JSONResponse:
    settings = services.settings
    matcher = services.live.matcher  # 503 while the index loads
    overrides = {} if threshold is None else {
        "pdq": allowed_threshold(services, principal, get_signal("pdq"), threshold)}
    upload = await read_upload(request, settings.media, settings.home)
    try:
        # on the scan threads, not the matching ones: a scan waiting for a large
        # decode's turn (veil.media.budget) must not hold up /v1/match
        if upload.path is not None and upload.video_format is not None:
            scan = partial(scan_video, upload.path, upload.video_format, matcher,
                           thresholds=overrides, label="upload")
        else:
            scan = partial(scan_bytes, upload.data, matcher, dihedral=dihedral,
                           thresholds=overrides, label="upload")
        result = await services.in_worker(scan, limiter=services.scan_slots)
    finally:
        upload.close()  # the upload is dropped here (a video's file deleted); only its
        # signals go on
    file, verdict = result.file, result.verdict
    assert verdict is not None  # scanning raises for undecodable media
    services.matched(list(verdict.matches))
    services.metrics.scans.labels(verdict.decision).inc()
    width, height = file.size or (None, None)
    video = {} if file.video is None else {"video": file.video.as_json()}
    return JSONResponse({
        "format": file.format, "width": width, "height": height,
        "signals": [s.as_dict() for s in file.signals], **video,
        "warnings": list(file.warnings),
        **verdict.as_json(settings.api.max_matches_listed)})
