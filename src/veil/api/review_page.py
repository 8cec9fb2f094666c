"""The reviewer page, ``/review``: review items shown safely to a person with a
``review`` key.

Log in once with the key (``POST /review/login``, a form): the service sets a session
cookie (``sessions``: a random id, never the key, its session kept in the store so
any worker or node answers; ``HttpOnly``, ``SameSite=Strict``, ``Path=/review``,
``Secure`` over HTTPS) and the page carries the session's CSRF token,
which every state-changing call sends back in ``X-CSRF-Token``. A log-in whose
``Origin`` or ``Sec-Fetch-Site`` says it came from another site is refused (login
CSRF), and log-ins are rate-limited per address like intake.

The page's calls (``/review/api/…``): ``next`` (the next item by
``veil.review.rotation``, or a break prompt), ``break``, ``skip``, ``reveal`` (audited:
the reviewer chose to see the picture clearly) and ``decision``. The media of the item
on the reviewer's screen, and only that item, is served decrypted with
``Cache-Control: no-store``; each fetch is audited (``review.media_view``). The page
blurs and greys it until the reviewer reveals it (docs/review.md).

These routes are not in the OpenAPI spec (they are a page and its calls, by session,
not by key) and declare the scope ``review-session``: the key middleware leaves them to
the session check here.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from veil.api.errors import ApiError
from veil.api.headers import SECURITY_HEADERS
from veil.api.pages import render
from veil.api.ratelimit import bucket_of
from veil.api.routing import declare, router
from veil.api.services import Services, ServicesDep
from veil.api.sessions import COOKIE, ReviewSession
from veil.review.decisions import Code
from veil.review.decisions import decide as decide_item
from veil.review.items import describe
from veil.review.rotation import next_item
from veil.store.keys import key_hash
from veil.store.reviews import UNDECIDED

#: The scope these routes declare: a reviewer page session, checked here.
SESSION_SCOPE = "review-session"
#: Items the rotation looks through for the next one (the most urgent first).
CANDIDATES = 500

review_page = router(SESSION_SCOPE, tag="review", include_in_schema=False)
#: Not replayed by Idempotency-Key: a session's calls answer for that session only.
NO_REPLAY = declare(idempotent=False)
ITEM_ID = Path(pattern=r"^[0-9a-f-]{36}$")

_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-store"}


def _page(name: str, values: dict[str, Any], status: int = 200) -> Response:
    return Response(render(name, "en", values), status_code=status,
                    media_type="text/html; charset=utf-8", headers=_HEADERS)


def _json(body: object, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=_HEADERS)


async def _live_session(request: Request, services: Services) -> ReviewSession | None:
    token = request.cookies.get(COOKIE)
    session = await services.in_worker(services.review_sessions.get, token)
    if session is None:
        return None
    record = await services.keys.lookup_hash(session.key_hash)
    if record is None or "review" not in record.scopes:  # revoked since log-in
        await services.in_worker(services.review_sessions.end, token)
        return None
    return session


async def reviewer(request: Request, services: ServicesDep) -> ReviewSession:
    """The caller's session, for the page's calls: 401 without one; 403 for a
    state-changing call without the session's CSRF token."""
    session = await _live_session(request, services)
    if session is None:
        raise ApiError(401, "review.session", "log in at /review first (the session "
                       "has ended or never began)")
    if request.method not in ("GET", "HEAD") and not session.csrf_ok(
            request.headers.get("x-csrf-token")):
        raise ApiError(403, "review.csrf", "missing or wrong X-CSRF-Token")
    return session


ReviewerDep = Annotated[ReviewSession, Depends(reviewer)]


@review_page.get("/review", openapi_extra=NO_REPLAY)
async def page(request: Request, services: ServicesDep) -> Response:
    session = await _live_session(request, services)
    if session is None:
        return _page("review-login.html", {"error": ""})
    return _page("review.html", {"csrf": session.csrf, "actor": session.actor,
                                 "reveal_s": services.settings.review.reveal_s})


def _cross_site(request: Request) -> bool:
    """Whether a log-in was posted from another site's page. Browsers say so in
    ``Sec-Fetch-Site``; one that does not send it is judged by ``Origin`` (the pages'
    ``no-referrer`` policy makes a browser send ``Origin: null`` even from this site,
    so ``null`` proves nothing)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return False
    return origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}"


@review_page.post("/review/login", openapi_extra=NO_REPLAY)
async def login(request: Request, services: ServicesDep) -> Response:
    if _cross_site(request):
        raise ApiError(403, "review.csrf", "a log-in must come from this site's own page")
    client = request.client.host if request.client else "unknown"
    wait = services.login_limiter.take(bucket_of(client, services.settings.api.ipv6_prefix))
    if wait:
        retry = "3600" if math.isinf(wait) else str(max(1, math.ceil(wait)))
        raise ApiError(429, "rate_limited", f"too many log-ins; retry in {retry} s",
                       {"Retry-After": retry})
    form = await request.form(max_files=0, max_fields=4)
    key = str(form.get("key") or "").strip()
    record = await services.keys.lookup(key) if key else None
    if record is None or "review" not in record.scopes:
        return _page("review-login.html", {
            "error": "That is not a valid review key."}, status=401)
    actor = f"key:{record.id}" + (f":{record.name}" if record.name else "")
    token, _ = await services.in_worker(services.review_sessions.create, key_hash(key), actor)
    await services.in_worker(lambda: services.store.audit_read(actor, "review.login"))
    response = RedirectResponse("/review", status_code=303, headers=_HEADERS)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/review",
                        secure=request.url.scheme == "https",
                        max_age=services.settings.review.session_max_h * 3600)
    return response


@review_page.post("/review/logout", openapi_extra=NO_REPLAY)
async def logout(request: Request, services: ServicesDep, session: ReviewerDep) -> Response:
    await services.in_worker(services.review_sessions.end, request.cookies.get(COOKIE))
    response = _json({"ended": True})
    response.delete_cookie(COOKIE, path="/review", httponly=True, samesite="strict")
    return response


@review_page.post("/review/api/next", openapi_extra=NO_REPLAY)
async def next_(services: ServicesDep, session: ReviewerDep) -> JSONResponse:
    candidates = await services.in_worker(lambda: services.store.review_items(
        statuses=UNDECIDED, limit=CANDIDATES))
    found = next_item(candidates, reviewer=session.actor,
                      last_subjects=session.record.last_subjects,
                      skipped=session.record.skipped)
    store = services.store
    if found.item is None:
        await services.in_worker(lambda: store.update_review_session(session.id,
                                                                     current_item=None))
        return _json({"item": None, "break": found.break_needed,
                      "waiting": len(candidates)})
    shown = found.item
    await services.in_worker(lambda: store.update_review_session(
        session.id, current_item=shown.id, last_subjects=shown.subjects))
    return _json({"item": describe(found.item), "break": False, "waiting": len(candidates)})


@review_page.post("/review/api/break", openapi_extra=NO_REPLAY)
async def took_break(services: ServicesDep, session: ReviewerDep) -> JSONResponse:
    await services.in_worker(lambda: services.store.update_review_session(
        session.id, last_subjects=()))
    await services.in_worker(lambda: services.store.audit_read(session.actor, "review.break"))
    return _json({"ok": True})


def _current(session: ReviewSession, item_id: str) -> None:
    if session.record.current_item != item_id:
        raise ApiError(409, "review.not_current", "this item is not the one on your screen: "
                       "ask for the next item")


@review_page.post("/review/api/items/{item_id}/skip", openapi_extra=NO_REPLAY)
async def skip(services: ServicesDep, session: ReviewerDep,
               item_id: str = ITEM_ID) -> JSONResponse:
    _current(session, item_id)
    await services.in_worker(lambda: services.store.update_review_session(
        session.id, current_item=None, skip=item_id))
    return _json({"ok": True})


@review_page.get("/review/api/items/{item_id}/media", openapi_extra=NO_REPLAY)
async def media(services: ServicesDep, session: ReviewerDep,
                item_id: str = ITEM_ID) -> Response:
    _current(session, item_id)
    item = await services.in_worker(services.store.review_item, item_id)
    sealed = await services.in_worker(lambda: services.store.sealed_review_media(
        item_id, actor=session.actor))
    if sealed is None:
        raise ApiError(410, "review.purged", "this item's media has been purged")
    data = await services.in_worker(services.media_sealer.open, item_id, sealed)
    return Response(data, media_type=item.media_type, headers={
        **_HEADERS, "Content-Disposition": "inline", "Cross-Origin-Resource-Policy":
        "same-origin"})


@review_page.post("/review/api/items/{item_id}/reveal", openapi_extra=NO_REPLAY)
async def reveal(services: ServicesDep, session: ReviewerDep,
                 item_id: str = ITEM_ID) -> JSONResponse:
    _current(session, item_id)
    await services.in_worker(lambda: services.store.audit_review(
        session.actor, "review.reveal", item_id))
    return _json({"reveal_s": services.settings.review.reveal_s})


class PageDecision(BaseModel):
    model_config = {"extra": "forbid"}

    code: Code
    note: str | None = Field(None, max_length=1000)


@review_page.post("/review/api/items/{item_id}/decision", openapi_extra=NO_REPLAY)
async def decision(body: PageDecision, services: ServicesDep, session: ReviewerDep,
                   item_id: str = ITEM_ID) -> JSONResponse:
    _current(session, item_id)
    decided = await services.in_worker(lambda: decide_item(
        services.store, services.settings, item_id, body.code, actor=session.actor,
        note=body.note))
    await services.in_worker(lambda: services.store.update_review_session(
        session.id, current_item=None))
    return _json(describe(decided))
