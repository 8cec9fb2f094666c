"""``/docs``: the interactive API reference, working offline.

Swagger UI 5's files (which read OpenAPI 3.1, what FastAPI writes) come from the
``fastapi-offline`` package's static folder and are served from this origin
(``/docs/assets/…``), never from a CDN: the service works without the internet, and
no third party learns who reads the reference. The page carries the
same strict Content-Security-Policy as the intake pages (no inline script; the
initialiser is ``veil/web/docs/api-docs.js``), plus ``sandbox``: the bundle runs as
an opaque origin and cannot read anything the intake pages keep in this origin.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from veil.api.headers import DOCS_CSP, SECURITY_HEADERS
from veil.api.pages import CONTENT_TYPES, _not_found, revalidated, with_etag

docs = APIRouter(include_in_schema=False)

INIT = Path(__file__).resolve().parents[1] / "web" / "docs" / "api-docs.js"
#: The files of the bundle the page loads; nothing else under it is served.
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon.png")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Veil API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon.png">
</head><body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/api-docs.js"></script>
</body></html>
"""


def _bundle() -> Path:
    from importlib.resources import files

    return Path(str(files("fastapi_offline") / "static"))


@lru_cache(maxsize=len(ASSETS) + 1)
def _asset(name: str) -> tuple[bytes, str]:
    return with_etag((INIT if name == "api-docs.js" else _bundle() / name).read_bytes())


#: The reference page runs sandboxed (``DOCS_CSP``): an opaque origin, so what it loads
#: from here is cross-origin to it and must say it may be (public files only).
_SANDBOXED = {**SECURITY_HEADERS, "Content-Security-Policy": DOCS_CSP}
_SHARED = {**SECURITY_HEADERS, "Cross-Origin-Resource-Policy": "cross-origin"}


@docs.get("/docs")
def reference() -> Response:
    return Response(PAGE, media_type="text/html; charset=utf-8",
                    headers={**_SANDBOXED, "Cache-Control": "no-cache"})


@docs.get("/openapi.json")
def spec(request: Request) -> JSONResponse:
    """The OpenAPI spec (public: it says what each route needs, never any data)."""
    return JSONResponse(request.app.openapi(), headers={
        **_SHARED, "Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"})


@docs.get("/docs/assets/{name}")
def asset(name: str, request: Request) -> Response:
    if name not in (*ASSETS, "api-docs.js"):
        return _not_found()
    data, etag = _asset(name)
    return revalidated(request, data, etag, CONTENT_TYPES[Path(name).suffix], _SHARED)
