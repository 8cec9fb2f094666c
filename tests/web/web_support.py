"""Helpers for the intake page tests (/protect and /case in real Chromium).

A module with a name of its own (``conftest`` is ambiguous when several test folders
are collected together)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from veil.config import MediaLimits
from veil.signals.batch import hash_file

WEB_TESTS = Path(__file__).resolve().parent
AXE = WEB_TESTS / "node_modules" / "axe-core" / "axe.min.js"
AXE_HINT = ("axe-core is missing: run `npm ci --prefix tests/web` (it installs the "
            "version pinned in tests/web/package-lock.json; needs Debian's npm)")
CATALOGS = Path(__file__).resolve().parents[2] / "src" / "veil" / "web" / "static" / "i18n"
ATTESTATION = {"self_or_guardian": True, "intimate": True}


def catalog(lang: str) -> dict[str, str]:
    return json.loads((CATALOGS / f"{lang}.json").read_text("utf-8"))  # type: ignore[no-any-return]


def fill(text: str, **values: Any) -> str:
    for k, v in values.items():
        text = text.replace("{" + k + "}", str(v))
    return text


def server_signals(path: Path) -> dict[str, Any]:
    """The server's PDQ (with quality) and MD5 of a file, as the page must send them."""
    got = hash_file(path, MediaLimits(), ("pdq", "md5"))
    assert got.ok, got.error_message
    pdq, md5 = got.signals
    return {"pdq": pdq.value, "quality": pdq.quality, "md5": md5.value}


def expected_payload(paths: list[Path]) -> dict[str, Any]:
    signals: list[dict[str, Any]] = []
    for p in paths:
        s = server_signals(p)
        signals.append({"signal": "pdq", "value": s["pdq"], "quality": s["quality"]})
        signals.append({"signal": "md5", "value": s["md5"]})
    return {"signals": signals, "attestation": ATTESTATION}


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
    """Tick both attestations, send, and return the case token the page shows."""
    page.check("#att-self")
    page.check("#att-intimate")
    with page.expect_response(lambda r: r.url.endswith("/v1/cases")) as created:
        page.click("#send")
    assert created.value.status == 201, created.value.text()
    expect(page.locator("#step-done")).to_be_visible()
    token = page.input_value("#token")
    assert len(token) >= 43, token
    return token  # type: ignore[no-any-return]


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
    """Run axe-core on the page; the serious and critical violations, as text (the
    page's context must bypass CSP: add_script_tag injects an inline script)."""
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
            for v in result if v["impact"] in ("serious", "critical")]
