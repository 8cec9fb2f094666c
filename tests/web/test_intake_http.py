"""The intake pages over HTTP (a real ``veil serve``): security headers, content types,
no cookies, language negotiation, and complete translation catalogs."""

from __future__ import annotations

import html as htmllib
import re
from typing import Any

import httpx
import pytest
from web_support import CATALOGS, HELPLINES, catalog

from veil.api.headers import CSP
from veil.api.pages import LANGUAGES, helplines_html, negotiate, page_html
from veil.config import Helpline, Settings
from veil.errors import ConfigError

REQUIRED_CSP = ("default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'; "
                "img-src 'self' blob: data:; style-src 'self'; base-uri 'none'; "
                "form-action 'self'; frame-ancestors 'none'")
ASSETS = {
    "/static/js/protect.js": "text/javascript",
    "/static/js/case.js": "text/javascript",
    "/static/js/hash-worker.js": "text/javascript",
    "/static/js/pdq.js": "text/javascript",
    "/static/js/region.js": "text/javascript",
    "/static/js/orb-pattern.js": "text/javascript",
    "/static/js/i18n.js": "text/javascript",
    "/static/css/veil.css": "text/css",
    "/static/i18n/uk.json": "application/json",
}


def _assert_secure(r: httpx.Response) -> None:
    h = r.headers
    assert h["content-security-policy"] == REQUIRED_CSP
    assert h["referrer-policy"] == "no-referrer"
    assert h["x-content-type-options"] == "nosniff"
    assert "camera=()" in h["permissions-policy"]
    assert "set-cookie" not in h


def test_csp_is_the_required_one() -> None:
    assert CSP == REQUIRED_CSP


@pytest.mark.parametrize("path", ["/protect", "/case"])
def test_pages_carry_security_headers_and_no_cookie(veil_server: Any, path: str) -> None:
    r = httpx.get(veil_server.base + path)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["cache-control"] == "no-store"
    assert "accept-language" in r.headers["vary"].lower()
    _assert_secure(r)
    html = r.text
    # no inline script or style anywhere (the CSP would block them anyway)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html and " style=" not in html and " on" + "click=" not in html
    # nothing loaded from another origin
    assert not re.search(r"""src=["']?(https?:)?//""", html)
    # the only links out are the operator's: the quick exit and the helplines (on
    # loopback in these tests)
    outside = {htmllib.unescape(u) for u in
               re.findall(r"""href=["']?((?:https?:)?//[^"'\s>]+)""", html)}
    assert outside == {veil_server.quick_exit_url, *_helpline_urls()}, outside
    assert all(u.startswith("http://127.0.0.1:") for u in outside), outside
    assert "{{" not in html  # every slot filled


def test_static_assets_have_their_types_and_headers(veil_server: Any) -> None:
    for path, ctype in ASSETS.items():
        r = httpx.get(veil_server.base + path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].split(";")[0] == ctype, path
        _assert_secure(r)
        etag = r.headers["etag"]
        again = httpx.get(veil_server.base + path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and not again.content


@pytest.mark.parametrize("path", ["/static/", "/static/js/", "/static/../pages.py",
                                  "/static/%2e%2e/%2e%2e/api/pages.py", "/static/js/.hidden.js",
                                  "/static/i18n/de.json", "/static/pages/protect.html",
                                  "/static/__init__.py", "/static/js//pdq.js"])
def test_static_refuses_what_is_not_an_asset(veil_server: Any, path: str) -> None:
    r = httpx.get(veil_server.base + path)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_pages_are_not_in_the_api_spec(veil_server: Any) -> None:
    paths = httpx.get(veil_server.base + "/openapi.json").json()["paths"]
    assert not {"/protect", "/case"} & set(paths)
    assert not any(p.startswith("/static") for p in paths)


@pytest.mark.parametrize(("header", "query", "want"), [
    (None, None, "en"),
    ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", None, "ru"),
    ("uk-UA,uk;q=0.9", None, "uk"),
    ("UK", None, "uk"),
    ("de-DE,de;q=0.9,uk;q=0.5,ru;q=0.4", None, "uk"),
    ("en;q=0.5, ru;q=0.8", None, "ru"),
    ("ru;q=0, uk;q=0.1", None, "uk"),
    ("fr-FR,fr;q=0.9", None, "en"),
    ("*", None, "en"),
    ("ru;q=abc, uk", None, "uk"),
    ("ru", "uk", "uk"),
    ("ru", "de", "ru"),
])
def test_language_negotiation(header: str | None, query: str | None, want: str) -> None:
    assert negotiate(header, query) == want


def test_page_language_follows_accept_language(veil_server: Any) -> None:
    for header, lang in (("ru-RU,ru;q=0.9", "ru"), ("uk-UA", "uk"), ("en-GB", "en")):
        html = httpx.get(veil_server.base + "/protect",
                         headers={"Accept-Language": header}).text
        assert f'<html lang="{lang}">' in html
        assert catalog(lang)["protect.title"] in html
    html = httpx.get(veil_server.base + "/case?lang=uk",
                     headers={"Accept-Language": "ru"}).text
    assert '<html lang="uk">' in html and catalog("uk")["case.title"] in html


def test_catalogs_are_complete_and_translated() -> None:
    assert sorted(p.stem for p in CATALOGS.glob("*.json")) == sorted(LANGUAGES)
    en = catalog("en")
    for lang in LANGUAGES:
        messages = catalog(lang)
        assert list(messages) == list(en), f"{lang}: keys differ from en.json"
        for key, text in messages.items():
            assert text.strip(), (lang, key)
            placeholders = set(re.findall(r"\{(\w+)\}", text))
            assert placeholders == set(re.findall(r"\{(\w+)\}", en[key])), (lang, key)
            if lang != "en" and key not in ("file.name",):
                # really translated: Cyrillic text, not an English leftover
                assert re.search("[а-яіїєґ]", text, re.I), (lang, key, text)
    # each page template only uses keys that exist
    pages = CATALOGS.parents[1] / "pages"
    for page in pages.glob("*.html"):
        for key in re.findall(r"\{\{t:([a-z0-9_.]+)\}\}|data-i18n=\"([a-z0-9_.]+)\"",
                              page.read_text()):
            for k in key:
                assert not k or k in en, (page.name, k)


def _helpline_urls() -> set[str]:
    return {str(Helpline(**h).url) for h in HELPLINES if h.get("url")}


@pytest.mark.parametrize("name", ["protect.html", "case.html"])
def test_without_operator_settings_nothing_links_out(name: str) -> None:
    """The defaults: "Leave quickly" goes to about:blank, and no helpline is listed."""
    settings = Settings()
    assert settings.quick_exit_url == "about:blank" and settings.helplines == ()
    for lang in LANGUAGES:
        page = page_html(name, lang, settings)
        assert 'id="quick-exit" class="quick-exit" href="about:blank"' in page
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
        assert 'class="helplines"' not in page
        assert catalog(lang)["support.title"] in page


def test_helplines_are_escaped() -> None:
    lines = tuple(Helpline(**h) for h in HELPLINES)
    out = helplines_html(lines)
    assert "<script>" not in out and "<b>" not in out
    assert "Support &lt;b&gt;Line&lt;/b&gt; &amp; &quot;Friends&quot;" in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert 'href="http://127.0.0.1:9/help?a=1&amp;b=2"' in out
    assert 'href="tel:+15550100"' in out and 'href="tel:0800000000"' in out
    assert out.count("<li>") == 2
    assert helplines_html(()) == ""


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,hi", "/relative",
                                 'https://x.test/"onmouseover=alert(1)', "ftp://x.test/",
                                 "about:srcdoc"])
def test_quick_exit_url_must_be_a_web_address(url: str, monkeypatch: Any) -> None:
    from veil.config import load_settings

    monkeypatch.setenv("VEIL_QUICK_EXIT_URL", url)
    with pytest.raises(ConfigError, match="VEIL_QUICK_EXIT_URL"):
        load_settings()


#: Messages that tell a person something went wrong: short, and each says what to do.
PROBLEM_KEYS = re.compile(r"^(error\..*|common\.(offline|rate_limited|failed)|attest\.missing|"
                          r"send\.low_quality|review\.(none|waiting)|photo\.duplicate|"
                          r"case\.token_(missing|invalid)|choose\.too_many|done\.copy_failed)$")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_problem_messages_are_short(lang: str) -> None:
    messages = {k: v for k, v in catalog(lang).items() if PROBLEM_KEYS.match(k)}
    assert len(messages) == 21
    for key, text in messages.items():
        assert len(text) <= 150, (lang, key, len(text), text)
        # three sentences at most
        assert text.count(". ") + text.count("; ") <= 2, (lang, key, text)
