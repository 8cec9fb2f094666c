"""The FastAPI application: routers per audience, error shape, limits, lifecycle.

Middleware, outermost first: access log + latency metrics, authentication (from
the headers, before any body is read), body limits (size and time), idempotency
replay; then FastAPI's routing. The bank index loads in a
background thread at start-up: ``/healthz`` answers at once, ``/readyz`` and the
matching routes say 503 until it is loaded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from veil import __version__
from veil.api import errors
from veil.api.admin import admin
from veil.api.authenticate import Authenticate
from veil.api.docs import docs
from veil.api.exchanges import exchanges
from veil.api.hma import hma_curation, hma_matching
from veil.api.idempotency import Idempotency
from veil.api.intake import case, image_refused, looks_binary, public
from veil.api.limits import ASGIApp, BodyLimits, Message, Receive, Scope, Send
from veil.api.ops import ops
from veil.api.pages import pages
from veil.api.platform import platform
from veil.api.review import review
from veil.api.review_page import review_page
from veil.api.routing import declared_routes, route_for
from veil.api.services import Services
from veil.api.stopncii import stopncii
from veil.api.text import text
from veil.api.videos import videos
from veil.api.webhooks import webhooks
from veil.config import Settings, load_settings

access = logging.getLogger("veil.api.access")

DESCRIPTION = """Hash banks against non-consensual intimate images (NCII).

* **intake** (victims; public, rate-limited, or partners with an `intake` key): submit
  hashes of one's images — never the images — and see or withdraw them with the case token.
* **platform** (`platform` key): match hashes, or scan an upload (hashed, then dropped);
  check texts for ads of "undressing" services.
* **review** (`review` key): decide disputed entries and review items (uploads kept,
  sealed, for a person to look at; the pictures only on the reviewer page, `/review`).
* **admin** (`admin` key): banks, policies, hash lists, entries, keys, audit log,
  webhooks and their dead letters, exchange partners, the exchanges it pulls.
* **hma**: Meta's Hasher-Matcher-Actioner routes and shapes (`/c/*`: `admin` key;
  `/m/*`, `/h/hash`: `platform` key). Media is sent, never fetched from a URL.
* **exchange** (`exchange` key, also as `x-functions-key`): Veil as a
  StopNCII-compatible hub under `/stopncii/v1/` (fetch shared hashes, submit hashes
  and feedback).

Errors are always `{"error": {"code": "...", "message": "..."}}`. See docs/api.md.
"""


class AccessLog:
    """Latency by route template and one JSON log line per request (no client address,
    no raw path: a path can hold an id)."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.services.metrics.latency.labels(scope["method"], route, str(status)).observe(
                elapsed)
            access.info("request", extra={"method": scope["method"], "route": route,
                                          "status": status, "ms": round(elapsed * 1000, 2)})


def create_app(settings: Settings | None = None, *, services: Services | None = None,
               load_in_background: bool = True) -> FastAPI:
    settings = settings or load_settings()
    own = services is None
    services = services or Services(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if own:
            services.start(background=load_in_background)
        lag = asyncio.create_task(services.metrics.watch_loop(), name="veil-loop-lag")
        try:
            yield
        finally:
            lag.cancel()
            if own:
                services.stop()

    app = FastAPI(title="Veil", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = services
    errors.install(app)

    async def image_at_intake(request: Request) -> JSONResponse | None:
        # an image posted to intake fails JSON parsing before any handler sees it:
        # say what is actually wrong
        if route_for(request.scope).hashes_only and looks_binary(await request.body()):
            e = image_refused()
            return errors.error_json(e.status_code, e.code, e.message)
        return None

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return await image_at_intake(request) or errors.error_json(
            422, "input.invalid", errors.describe_validation(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and (refused := await image_at_intake(request)):
            return refused
        return errors.http_error(exc)

    routers = (ops, public, case, platform, text, review, review_page, admin, webhooks,
               exchanges, videos, stopncii, hma_curation, hma_matching, pages, docs)
    for r in routers:
        app.include_router(r)
    app.state.veil_routes = declared_routes(*routers)
    app.add_middleware(Idempotency, settings=settings, cache=services.idempotency)
    app.add_middleware(BodyLimits, settings=settings)
    app.add_middleware(Authenticate, keys=services.keys)
    app.add_middleware(AccessLog, services=services)
    return app
