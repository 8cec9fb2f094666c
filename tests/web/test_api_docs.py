"""``/docs`` works offline: Swagger UI from the service itself, under the strict CSP
and sandboxed (an opaque origin: it cannot read what the intake pages keep), showing
every route of the spec, with no request leaving the server."""

from __future__ import annotations

from typing import Any

import httpx

from veil.api.headers import CSP, DOCS_CSP


def test_docs_render_every_route_from_this_origin_only(pages: Any) -> None:
    base = pages.server.base
    r = httpx.get(base + "/docs", timeout=10)
    assert r.status_code == 200 and r.headers["content-security-policy"] == DOCS_CSP
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
    assert page.evaluate("window.origin") == "null"  # sandboxed: not the pages' origin
    assert page.evaluate("() => { try { return localStorage.length; } "
                         "catch (e) { return 'denied'; } }") == "denied"


def test_only_the_bundles_files_are_served(pages: Any) -> None:
    base = pages.server.base
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "api-docs.js"):
        r = httpx.get(f"{base}/docs/assets/{name}", timeout=10)
        assert r.status_code == 200 and r.headers["content-security-policy"] == CSP
        assert r.headers["x-content-type-options"] == "nosniff"
    for name in ("index.html", "swagger-initializer.js", "..%2F..%2F__init__.py", "x.map"):
        assert httpx.get(f"{base}/docs/assets/{name}", timeout=10).status_code == 404


def test_the_status_page_has_the_pages_headers_and_links(pages: Any) -> None:
    r = httpx.get(pages.server.base + "/", timeout=10)
    assert r.status_code == 200 and r.headers["content-security-policy"] == CSP
    assert r.headers["x-frame-options"] == "DENY" and "set-cookie" not in r.headers
    assert 'href="/protect"' in r.text and 'href="/docs"' in r.text
    assert "<style" not in r.text and " style=" not in r.text  # nothing inline to allow
    page = pages.open_plain("/")
    assert page.locator("h1").inner_text().startswith("Veil")


def test_odd_static_paths_are_404_never_500(pages: Any) -> None:
    base = pages.server.base
    for path in ("/static/js/api.js%00.png", "/static/js/%00", "/static/%0a.js",
                 "/static/..%2Fpages%2Fprotect.html", "/static/js/api.js%00"):
        r = httpx.get(base + path, timeout=10)
        assert r.status_code == 404, (path, r.status_code)
        assert r.json()["error"]["code"] == "not_found"
