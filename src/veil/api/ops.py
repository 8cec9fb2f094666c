"""Operations: what is running (``/``), liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import html
import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from veil import __version__
from veil.api.auth import SCOPE_EXT
from veil.api.errors import responses
from veil.api.headers import SECURITY_HEADERS
from veil.api.schemas import Health, Ready
from veil.api.services import ServicesDep
from veil.verdict import action_for

ops = APIRouter(tags=["operations"])
PUBLIC = {SCOPE_EXT: "public"}


@ops.get("/healthz", response_model=Health, openapi_extra=PUBLIC,
         summary="Liveness: the process answers")
async def healthz() -> Health:
    return Health(status="ok")


@ops.get("/readyz", response_model=Ready, openapi_extra=PUBLIC, responses=responses(503),
         summary="Readiness: the bank index is loaded")
async def readyz(services: ServicesDep) -> Response:
    live = services.live
    if not live.ready:
        message = "the bank index is loading" if live.load_error is None else (
            "the bank index failed to load; see the logs")
        return JSONResponse({"error": {"code": "service.not_ready", "message": message}},
                            status_code=503, headers={"Retry-After": "2"})
    return JSONResponse({"status": "ready", "index": live.sizes()})


@ops.get("/metrics", openapi_extra=PUBLIC, response_class=Response,
         responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"}},
         summary="Prometheus metrics")
async def metrics(services: ServicesDep) -> Response:
    return Response(generate_latest(services.metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)


@ops.get("/", response_class=HTMLResponse, openapi_extra=PUBLIC, include_in_schema=True,
         responses={200: {"content": {"text/html": {}}, "description": "Status page"}},
         summary="What is running")
def root(request: Request, services: ServicesDep) -> HTMLResponse:
    live = services.live
    esc = html.escape
    banks = services.store.list_banks()
    rows = "".join(
        f"<tr><td>{esc(b.name)}</td><td>{esc(b.category)}</td>"
        f"<td>{esc(action_for(b.category, b.policy))}</td>"
        f"<td>{b.counts.get('active', 0):,}</td></tr>" for b in banks) or (
        "<tr><td colspan=4>no banks yet</td></tr>")
    sizes = live.sizes()
    index = ", ".join(f"{n:,} {s}" for s, n in sizes.items()) or "empty"
    state = "ready" if live.ready else ("failed to load" if live.load_error else "loading")
    up = int(time.time() - services.started_at)
    links = ('<a href="/protect">Protect your images</a> (for people: hashes only, computed in '
             'your browser) · <a href="/case">Your case</a> · '
             '<a href="/docs">API documentation</a>')
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Veil</title><link rel="stylesheet" href="/static/css/status.css"></head><body>
<h1>Veil {esc(__version__)}</h1>
<p>Keeps non-consensual intimate images off platforms with hash banks. This is the Veil
service: hashes in, matches out; images are never stored.</p>
<p>Index: <b>{esc(state)}</b> ({esc(index)}). Up {up // 3600} h {up % 3600 // 60} min.</p>
<table><tr><th>bank</th><th>category</th><th>on match</th><th>active entries</th></tr>
{rows}</table><p>{links}</p></body></html>"""
    # the intake pages' headers: same origin, same protections
    return HTMLResponse(page, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})
