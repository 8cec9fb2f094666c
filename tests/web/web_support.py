"""Helpers for the intake page tests (/protect and /case in real Chromium).

A module with a name of its own (``conftest`` is ambiguous when several test folders
are collected together)."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from veil.config import MediaLimits
from veil.media.source import Media
from veil.regions import blob, features
from veil.signals.batch import hash_file

WEB_TESTS = Path(__file__).resolve().parent
AXE = WEB_TESTS / "node_modules" / "axe-core" / "axe.min.js"
AXE_HINT = ("axe-core is missing: run `npm ci --prefix tests/web` (it installs the "
            "version pinned in tests/web/package-lock.json; needs Debian's npm)")
CATALOGS = Path(__file__).resolve().parents[2] / "src" / "veil" / "web" / "static" / "i18n"
ATTESTATION = {"self_or_guardian": True, "intimate": True, "share_with_partners": False}
LANGS = ("en", "ru", "uk")
LOCALES = {"en": "en-GB", "ru": "ru-RU", "uk": "uk-UA"}
#: The two sizes the pages are checked at: a phone (touch, no mouse) and a desktop.
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
DEVICES: dict[str, dict[str, Any]] = {
    "phone": {"viewport": VIEWPORTS["phone"], "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": VIEWPORTS["desktop"]},
}

#: The operator's helplines on the test server (Settings.helplines, VEIL_HELPLINES):
#: markup characters in every field, which the pages must show as text; links only
#: to loopback addresses.
HELPLINES: list[dict[str, str]] = [
    {"name": 'Support <b>Line</b> & "Friends"', "url": "http://127.0.0.1:9/help?a=1&b=2",
     "phone": "+1 (555) 0100", "note": "Any time <script>alert(1)</script>, free"},
    {"name": "Довіра — лінія 2", "phone": "0 800 000 000"},
]

#: The case code's alphabet (static/js/case-code.js): no 0, O, 1, I (nor l: capitals only).
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_RE = re.compile(r"^[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){12}$")


def code_to_token(code: str) -> str:
    """The case token a case code stands for: a second implementation of
    case-code.js, to check the page's against (spaces, dashes and case are ignored)."""
    symbols = re.sub(r"[\s-]+", "", code).upper()
    bits = "".join(format(CODE_ALPHABET.index(c), "05b") for c in symbols)
    data = int(bits[: len(bits) // 8 * 8], 2).to_bytes(len(bits) // 8, "big")
    assert set(bits[len(bits) // 8 * 8:]) <= {"0"}, "leftover bits of a code are zero"
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_to_code(token: str) -> str:
    data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    bits = "".join(format(b, "08b") for b in data)
    bits += "0" * (-len(bits) % 5)
    symbols = "".join(CODE_ALPHABET[int(bits[i:i + 5], 2)] for i in range(0, len(bits), 5))
    return "-".join(symbols[i:i + 4] for i in range(0, len(symbols), 4))


def catalog(lang: str) -> dict[str, str]:
    return json.loads((CATALOGS / f"{lang}.json").read_text("utf-8"))  # type: ignore[no-any-return]


def fill(text: str, **values: Any) -> str:
    for k, v in values.items():
        text = text.replace("{" + k + "}", str(v))
    return text


def server_signals(path: Path) -> dict[str, Any]:
    """The server's PDQ (with quality), MD5 and region signal (base64) of a file, as the
    page must send them (the browser's region blob is the server's byte for byte on
    corpus photos: docs/derived.md, "In the browser")."""
    got = hash_file(path, MediaLimits(), ("pdq", "md5"))
    assert got.ok, got.error_message
    pdq, md5 = got.signals
    banked = blob.encode(features.bank_features(Media.from_path(path, MediaLimits())))
    return {"pdq": pdq.value, "quality": pdq.quality, "md5": md5.value,
            "region": base64.b64encode(banked).decode()}


#: The attestation before the person ticks anything (what the raw view shows then).
UNTICKED = {"self_or_guardian": False, "intimate": False, "share_with_partners": False}


def expected_payload(paths: list[Path], attestation: dict[str, bool] = ATTESTATION
                     ) -> dict[str, Any]:
    """The body of POST /v1/cases for ``paths`` (as sent: both attestations true)."""
    signals: list[dict[str, Any]] = []
    for p in paths:
        s = server_signals(p)
        signals.append({"signal": "pdq", "value": s["pdq"], "quality": s["quality"],
                        "region": s["region"]})
        signals.append({"signal": "md5", "value": s["md5"]})
    return {"signals": signals, "attestation": attestation}


def png_bytes(size: tuple[int, int] = (300, 200), colour: tuple[int, int, int] = (128, 128, 128)
              ) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def as_png(path: Path) -> bytes:
    buf = io.BytesIO()
    with Image.open(path) as im:
        im.convert("RGB").save(buf, "PNG")
    return buf.getvalue()


def choose(page: Any, files: list[Any], ready: int | None = None) -> None:
    """Choose ``files`` (paths, or {name, mimeType, buffer}) and wait until each is
    hashed; ``ready``: how many end up in the review (default: all)."""
    before = page.locator("#photo-list > li").count()
    # Playwright takes paths or buffers, not both at once
    if not all(isinstance(f, str | Path) for f in files):
        files = [f if isinstance(f, dict) else {"name": Path(f).name, "mimeType": "image/jpeg",
                                                "buffer": Path(f).read_bytes()} for f in files]
    page.set_input_files("#files", files)
    items = page.locator("#photo-list > li")
    expect(items).to_have_count(before + len(files))
    expect(page.locator("#photo-list > li[data-state='waiting'], "
                        "#photo-list > li[data-state='hashing']")).to_have_count(0)
    if ready is not None:
        expect(page.locator("#review-list > li")).to_have_count(ready)


def submit(page: Any) -> str:
    """Tick both attestations, send, and return the case token (as the server made
    it); the page shows it as a case code, which must stand for exactly that token."""
    page.check("#att-self")
    page.check("#att-intimate")
    with page.expect_response(lambda r: r.url.endswith("/v1/cases")) as created:
        page.click("#send")
    assert created.value.status == 201, created.value.text()
    token: str = created.value.json()["case_token"]
    expect(page.locator("#step-done")).to_be_visible()
    code = shown_code(page)
    assert code == token_to_code(token) and code_to_token(code) == token, (code, token)
    return token


def shown_code(page: Any) -> str:
    """The case code on the "save your code" step, checked for its shape."""
    code: str = page.input_value("#token")
    assert CODE_RE.match(code), code
    return code


def open_case(page: Any, token: str) -> None:
    """On /case: enter the token and show the case."""
    page.fill("#case-token", token)
    page.click("#lookup-button")
    expect(page.locator("#case-view")).to_be_visible()


def victim_matches(matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in matches if m["category"] == "victim_submitted"]


def tab_to(page: Any, selector: str, *, back: bool = False, limit: int = 80) -> None:
    """Press Tab (Shift+Tab with ``back``) until the focus is on ``selector``."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
    raise AssertionError(f"the keyboard never reached {selector}")


def axe_problems(page: Any, context: str) -> list[str]:
    """Run axe-core on the page; every violation, whatever its impact (minor too), as
    text (the page's context must bypass CSP: add_script_tag injects an inline
    script)."""
    if not AXE.is_file():
        pytest.fail(AXE_HINT)
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
          nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ': ' + n.failureSummary) }));
    }""")
    return [f"{context}: [{v['impact']}] {v['id']} ({v['help']}): {v['nodes']}"
            for v in result]
