"""Pages for people: ``/protect`` and ``/case``, and the static assets they load.

``/protect`` hashes a person's photos in their own browser (``static/js/hash-worker.js``)
and sends only the hashes to ``POST /v1/cases``; ``/case`` takes the case code
(typed or pasted, never in a URL) and shows or withdraws the case. The HTML lives in
``veil/web/pages``; its text comes from ``veil/web/static/i18n/<lang>.json`` in the
language the person's browser asks for (``Accept-Language``, or ``?lang=``), and the
same catalogs are served to the page's scripts for everything they write.

Both pages carry what the operator configured (``Settings``): a "Leave quickly" link
to ``quick_exit_url`` (a neutral page; the script replaces the page with it) and the
``helplines``, rendered here, every field HTML-escaped, in every language.

Every response here carries a strict Content-Security-Policy (scripts, workers,
styles and connections from this origin only; no inline script or style; no
framing), ``Referrer-Policy: no-referrer``, ``nosniff`` and a ``Permissions-Policy``
that turns off what the pages never use. No cookies are set. These routes are not in
the OpenAPI spec: they are pages, not API.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

import veil.web
from veil.api.errors import error_json
from veil.api.headers import SECURITY_HEADERS
from veil.config import Helpline, Settings
from veil.signals import get as get_signal

WEB = Path(veil.web.__file__).resolve().parent
STATIC = WEB / "static"
TEMPLATES = WEB / "pages"

#: Languages with a catalog in static/i18n; the first is the default.
LANGUAGES = ("en", "ru", "uk")


#: What /static serves, by file suffix; anything else is 404.
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}

pages = APIRouter(include_in_schema=False)


# -- language ------------------------------------------------------------------------
def negotiate(accept_language: str | None, wanted: str | None = None) -> str:
    """The page language: ``wanted`` (``?lang=``) if supported, else the best match of
    the ``Accept-Language`` header by q-value (then by order), else English."""
    if wanted is not None and wanted in LANGUAGES:
        return wanted
    best: tuple[float, int, str] | None = None
    for i, part in enumerate((accept_language or "")[:1000].split(",")):
        tag, *params = (p.strip() for p in part.split(";"))
        primary = tag.lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        q = 1.0
        for p in params:
            if p.lower().startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        if best is None or (-q, i) < (-best[0], best[1]):
            best = (q, i, primary)
    return best[2] if best else LANGUAGES[0]


@lru_cache(maxsize=len(LANGUAGES))
def catalog(lang: str) -> dict[str, str]:
    """The messages of ``lang``, English filling any gap."""
    english = json.loads((STATIC / "i18n" / "en.json").read_text("utf-8"))
    if lang == "en":
        return dict(english)
    own = json.loads((STATIC / "i18n" / f"{lang}.json").read_text("utf-8"))
    return {**english, **own}


_SLOT = re.compile(r"\{\{(t:|html:)?([a-z0-9_.]+)\}\}")


@lru_cache(maxsize=8)
def _template(name: str) -> str:
    return (TEMPLATES / name).read_text("utf-8")


def render(name: str, lang: str, values: dict[str, Any],
           markup: dict[str, str] | None = None) -> str:
    """Fill ``{{t:key}}`` with the translated text and ``{{name}}`` with ``values``,
    all HTML-escaped; ``{{html:name}}`` takes ``markup[name]`` as it is (HTML this
    module built, every piece of text in it already escaped)."""
    messages = catalog(lang)

    def fill(m: re.Match[str]) -> str:
        kind, key = m.group(1), m.group(2)
        if kind == "html:":
            return (markup or {})[key]
        text = messages[key] if kind == "t:" else str(values[key])
        return html.escape(text, quote=True)

    return _SLOT.sub(fill, _template(name))


def _tel(phone: str) -> str:
    """A ``tel:`` URL for a phone number as an operator wrote it ("+380 800 500 335")."""
    digits = re.sub(r"[^0-9]", "", phone)
    return "tel:" + ("+" if phone.strip().startswith("+") else "") + digits


def helplines_html(helplines: tuple[Helpline, ...]) -> str:
    """The operator's support services (``Settings.helplines``) as a list, every value
    HTML-escaped; empty when there are none. Names, notes and numbers are shown as the
    operator wrote them, in every language of the page."""
    if not helplines:
        return ""
    items = []
    for h in helplines:
        name = html.escape(h.name, quote=True)
        if h.url is not None:
            href = html.escape(str(h.url), quote=True)
            name = f'<a href="{href}" rel="noreferrer">{name}</a>'
        parts = [f'<span class="helpline-name">{name}</span>']
        if h.phone:
            tel = html.escape(_tel(h.phone), quote=True)
            parts.append(f'<a class="helpline-phone" href="{tel}">'
                         f"{html.escape(h.phone, quote=True)}</a>")
        if h.note:
            parts.append(f'<span class="helpline-note">{html.escape(h.note, quote=True)}</span>')
        items.append("<li>" + " ".join(parts) + "</li>")
    return '<ul class="helplines">' + "".join(items) + "</ul>"


def page_html(name: str, lang: str, settings: Settings) -> str:
    """A page (``protect.html`` or ``case.html``) in ``lang``, with the operator's
    settings: the quality floor, the photo limit, the quick-exit destination and the
    helplines."""
    floor = settings.quality_floor(get_signal("pdq"))
    return render(name, lang, {
        "lang": lang,
        "min_quality": floor if floor is not None else 0,
        # each photo sends two signals (PDQ and MD5)
        "max_photos": settings.api.max_case_signals // 2,
        "quick_exit_url": settings.quick_exit_url,
    }, {"helplines": helplines_html(settings.helplines)})


def _page(request: Request, name: str) -> Response:
    settings = request.app.state.services.settings
    lang = negotiate(request.headers.get("accept-language"), request.query_params.get("lang"))
    body = page_html(name, lang, settings)
    return Response(body, media_type="text/html; charset=utf-8", headers={
        **SECURITY_HEADERS, "Cache-Control": "no-store", "Vary": "Accept-Language"})


@pages.get("/protect")
def protect_page(request: Request) -> Response:
    """Choose photos, hash them on the device, send only the hashes."""
    return _page(request, "protect.html")


@pages.get("/case")
def case_page(request: Request) -> Response:
    """See or withdraw a case with its token."""
    return _page(request, "case.html")


# -- static assets -------------------------------------------------------------------
def with_etag(data: bytes) -> tuple[bytes, str]:
    """A file's bytes and their ETag (what the cached readers here and in ``docs``
    keep, so no request hashes a file)."""
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def revalidated(request: Request, data: bytes, etag: str, media_type: str,
                headers: dict[str, str]) -> Response:
    """A file clients keep but revalidate (``no-cache``): 304 if they hold this one."""
    headers = {**headers, "Cache-Control": "no-cache", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


@lru_cache(maxsize=256)
def _asset(path: str, mtime_ns: int) -> tuple[bytes, str]:
    return with_etag((STATIC / path).read_bytes())


def _not_found() -> Response:
    r = error_json(404, "not_found", "no such file")
    r.headers.update(SECURITY_HEADERS)
    return r


@pages.get("/static/{path:path}")
def static_file(path: str, request: Request) -> Response:
    """A file under veil/web/static, with its content type (modules and workers as
    ``text/javascript``) and an ETag; clients revalidate (``no-cache``)."""
    parts = path.split("/")
    if not path or not path.isprintable() or any(not p or p.startswith(".") for p in parts):
        return _not_found()  # NUL and other control characters included: never a file
    target = (STATIC / path).resolve()
    ctype = CONTENT_TYPES.get(target.suffix.lower())
    if ctype is None or not target.is_relative_to(STATIC) or not target.is_file():
        return _not_found()
    data, etag = _asset(target.relative_to(STATIC).as_posix(), target.stat().st_mtime_ns)
    return revalidated(request, data, etag, ctype, SECURITY_HEADERS)
