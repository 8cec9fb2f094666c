"""``/docs`` works offline: Swagger UI from the service itself, under the strict CSP,
showing every route of the spec, with no request leaving the origin."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import Pages
from veil.api.pages import CSP


def test_docs_render_every_route_from_this_origin_only(pages: Pages) -> None:
    base = pages.server.base
    r = httpx.get(base + "/docs", timeout=10)
    assert r.status_code == 200 and r.headers["content-security-policy"] == CSP
    assert "cdn" not in r.text.lower() and "//" not in r.text.replace("<!--", "").split(
        "<body>")[1].replace('src="/', "")
    spec = httpx.get(base + "/openapi.json", timeout=10).json()

    ctx = pages.context()
    requested: list[str] = []
    ctx.on("request", lambda req: requested.append(req.url))
    page: Any = ctx.new_page()
    page.on("console", lambda m: pages.errors.append(f"/docs: console: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda exc: pages.errors.append(f"/docs: {exc}"))
    page.goto(base + "/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=15_000)
    shown = set(page.locator(".opblock-summary-path").all_inner_texts())
    paths = {p.replace("\u200b", "") for p in shown}
    assert set(spec["paths"]) <= paths, set(spec["paths"]) - paths
    assert requested and all(u.startswith(base) for u in requested), requested


def test_only_the_bundles_files_are_served(pages: Pages) -> None:
    base = pages.server.base
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "api-docs.js"):
        r = httpx.get(f"{base}/docs/assets/{name}", timeout=10)
        assert r.status_code == 200 and r.headers["content-security-policy"] == CSP
    for name in ("index.html", "swagger-initializer.js", "..%2F..%2F__init__.py", "x.map"):
        assert httpx.get(f"{base}/docs/assets/{name}", timeout=10).status_code == 404
