"""Intake: victims (or partners on their behalf) submit hashes, never images.

``POST /v1/cases`` is public and rate-limited per client address; a helpline or
other partner may instead send an API key with the ``intake`` scope. The case
token it returns is the only way to see or withdraw the case.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import Depends, Path, Request
from fastapi.responses import JSONResponse

from veil.api.auth import Principal, case_holder, public_intake
from veil.api.errors import ApiError
from veil.api.routing import declare, router
from veil.api.schemas import CaseCreated, CaseIn, CaseSignalOut, CaseStatus
from veil.api.services import Services, ServicesDep
from veil.errors import BadInput, SignalError
from veil.regions import blob
from veil.regions.compare import MIN_INLIERS
from veil.regions.features import Features
from veil.signals import all_types
from veil.signals import get as get_signal
from veil.store.cases import CaseSignalIn, CaseView

#: Magic numbers of image files: a body starting with one is a picture, refused.
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8", b"RIFF", b"II*\x00",
               b"MM\x00*", b"BM")

public = router("public", tag="intake", extra_statuses=(409, 429))
case = router("case", tag="intake", extra_statuses=(401, 404, 429))


async def refuse_images(request: Request) -> None:
    """Intake takes hashes only: refuse anything that looks like an image upload
    before the body is parsed (the body limits already bound its size)."""
    ctype = request.headers.get("content-type", "").lower()
    if ctype.startswith(("image/", "multipart/", "video/")):
        raise ApiError(415, "intake.image_refused", "intake accepts hashes only, never the "
                       "image: hash it on your device (the intake page does) and send "
                       "the hashes as JSON")
    if looks_binary(await request.body()):
        raise image_refused()


def looks_binary(body: bytes) -> bool:
    return body.lstrip()[:12].startswith(IMAGE_MAGIC) or b"\x00" in body[:4096]


def image_refused() -> ApiError:
    return ApiError(415, "intake.image_refused", "this looks like an image or other binary "
                    "file; intake accepts hashes only, as JSON")


def _view(v: CaseView, services: Services) -> list[CaseSignalOut]:
    """Each signal's shown status and its own count: what the store holds plus what is
    still in memory, under the store's rule (matches since the signal was submitted,
    while it was not withdrawn)."""
    return [CaseSignalOut(n=s.n, signal=s.signal, status=s.status,
                          matched=s.matched + (0 if s.status == "withdrawn" else
                                               services.counter.pending_since(
                                                   s.entry_id, s.created_at)))
            for s in v.signals]


def intake_signals() -> list[str]:
    """Signals a case may hold: the types people's browsers compute."""
    return [t.name for t in all_types() if t.victim_submittable]


@public.post("/v1/cases", status_code=201, response_model=CaseCreated,
             dependencies=[Depends(refuse_images)], openapi_extra=declare(hashes_only=True),
             summary="Submit a case: hashes of one's intimate images (never the images)")
def create_case(body: CaseIn, services: ServicesDep,
                principal: Principal = Depends(public_intake)) -> JSONResponse:
    settings = services.settings
    att = body.attestation
    if not (att.self_or_guardian and att.intimate):
        raise ApiError(422, "intake.attestation", "a case needs both attestations: the "
                       "images show you (or a person you are the parent or guardian of), and "
                       "they are intimate")
    limit = settings.api.max_case_signals
    if len(body.signals) > limit:
        raise ApiError(422, "input.too_many", f"a case holds at most {limit} signals")
    accepted = intake_signals()
    rows = []
    regions: dict[int, Features] = {}
    for i, s in enumerate(body.signals):
        if s.signal not in accepted:
            raise ApiError(422, "intake.signal", f"signals[{i}]: intake accepts "
                           f"{', '.join(accepted)}, not {s.signal!r}")
        if s.region is not None:
            regions[i + 1] = _region(i, s.signal, s.region)
        st = get_signal(s.signal)
        try:
            value = st.parse(s.value)
        except SignalError as exc:
            raise ApiError(422, exc.code, f"signals[{i}]: {exc.message}") from None
        minimum = settings.quality_floor(st)
        if minimum is not None:
            if s.quality is None:
                raise ApiError(422, "intake.quality_missing", f"signals[{i}]: a {st.name} "
                               "hash needs its quality (0-100), which the hasher reports")
            if s.quality < minimum:
                raise ApiError(422, "intake.low_quality", f"signals[{i}]: this {st.name} "
                               f"hash has quality {s.quality}, below {minimum}: the picture "
                               "is too flat or blank for its hash to be reliable (it would "
                               "match unrelated images); its MD5 can still be submitted")
        rows.append(CaseSignalIn(st.name, value, s.quality))
    # the case's hashes match before this returns (the store's post-commit hook)
    created = services.store.create_case(rows, body.attestation.model_dump(),
                                         bank=settings.api.victim_bank, actor=principal.actor)
    view = services.store.case_view(created.case_id)
    if regions:
        _attach_regions(services, view, regions, principal.actor)
    out = CaseCreated(case_id=created.case_id, case_token=created.token, status=view.status,
                      signals=_view(view, services))
    return JSONResponse(out.model_dump(mode="json"), status_code=201,
                        headers={"Cache-Control": "no-store"})


def _region(i: int, signal: str, text: str) -> Features:
    """A submitted region signal, read strictly (it is matched against every upload)."""
    if signal != "pdq":
        raise ApiError(422, "intake.region", f"signals[{i}]: a region signal goes with "
                       f"the photo's pdq hash, not with {signal}")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "region.malformed", f"signals[{i}]: the region signal is not "
                       "standard base64") from None
    try:
        return blob.decode(data)
    except BadInput as exc:
        raise ApiError(422, exc.code, f"signals[{i}]: {exc.message}") from None


def _attach_regions(services: Services, view: CaseView, regions: dict[int, Features],
                    actor: str) -> None:
    """Seal each region signal for its photo's pdq entry and attach it (after the case
    is stored: the seal names the entry). An entry that has one keeps it; a signal
    with fewer keypoints than a match needs (a flat picture) is not kept."""
    sealer = services.region_sealer
    entry_of = {s.n: s.entry_id for s in view.signals}
    services.store.attach_regions(
        [(entry_of[n], sealer.seal_features(entry_of[n], f), len(f))
         for n, f in regions.items() if n in entry_of and len(f) >= MIN_INLIERS],
        actor=actor)


@case.get("/v1/cases/me", response_model=CaseStatus,
          summary="The status of one's case (token in X-Case-Token)")
def case_status(services: ServicesDep, case_id: str = Depends(case_holder)) -> CaseStatus:
    v = services.store.case_view(case_id)
    return CaseStatus(case_id=v.id, status=v.status,
                      created_at=v.created_at, signals=_view(v, services))


def _withdraw(services: Services, case_id: str, n: int | None) -> CaseStatus:
    # the matches counted in memory so far are the case's, and a withdrawn signal's
    # count freezes: write them first, so the person sees how often it matched (its
    # own entries only: the request does not wait for everyone else's backlog)
    services.counter.flush_entries(s.entry_id for s in services.store.case_view(case_id)
                                   .signals if n is None or s.n == n)
    # what it withdraws stops matching before this returns (post-commit hook)
    services.store.withdraw_case(case_id, n, actor=f"case:{case_id}")
    return case_status(services, case_id)


@case.delete("/v1/cases/me", response_model=CaseStatus,
             summary="Withdraw every hash of one's case")
def withdraw_case(services: ServicesDep, case_id: str = Depends(case_holder)) -> CaseStatus:
    return _withdraw(services, case_id, None)


@case.delete("/v1/cases/me/signals/{n}", response_model=CaseStatus,
             summary="Withdraw one hash of one's case (n from 1, as in the status)")
def withdraw_signal(services: ServicesDep, n: int = Path(ge=1, le=10_000),
                    case_id: str = Depends(case_holder)) -> CaseStatus:
    return _withdraw(services, case_id, n)
