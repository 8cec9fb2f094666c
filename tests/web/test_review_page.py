"""The reviewer page, /review, end to end in headless Chromium against a real
``veil serve``: log in with a review key; each picture blurred and in greyscale by
default (computed styles, and a screenshot: no colour and little detail), revealed
only by a deliberate key press (audited), blurred again after the reveal time and
when moving on; decide, next, the break prompt between two items of one person's
case, all from the keyboard; no accessibility violation (axe-core). Screenshots of
benign corpus photos are written to $VEIL_SCREENSHOTS when it is set
(``VEIL_SCREENSHOTS=docs/screenshots``)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image
from playwright.sync_api import expect
from web_support import axe_problems, server_signals, tab_to

from derived_pictures import derived, region_b64

REPO = Path(__file__).resolve().parents[2]
SHOTS = os.environ.get("VEIL_SCREENSHOTS")
#: VEIL_REVIEW_REVEAL_S of ``review_server`` (tests/web/conftest.py).
REVEAL_S = 3


def _reencoded(path: Path, quality: int) -> bytes:
    buf = io.BytesIO()
    with Image.open(path) as im:
        im.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _queue(server: Any, photos: list[Path]) -> dict[str, str]:
    """Three items, in this order: a derived copy of another person's photo (half of
    it flattened: its case sent the photo's region signal), then two copies of one
    person's protected photo (a case holds its hash). Returns their ids by name."""
    victim, other = photos[40], photos[60]
    for photo, region in ((victim, None), (other, region_b64(other))):
        signals = server_signals(photo)
        pdq = {"signal": "pdq", "value": signals["pdq"], "quality": signals["quality"]}
        r = httpx.post(server.base + "/v1/cases", timeout=10, json={
            "signals": [pdq | ({"region": region} if region else {})],
            "attestation": {"self_or_guardian": True, "intimate": True}})
        assert r.status_code == 201, r.text
    ids = {}
    auth = {"Authorization": f"Bearer {server.platform_key}",
            "Content-Type": "application/octet-stream"}
    for name, data in (("other", derived(other)),
                       ("case-1", _reencoded(victim, 85)), ("case-2", _reencoded(victim, 70))):
        r = httpx.post(server.base + "/v1/scan?review=1", content=data, headers=auth, timeout=30)
        assert r.status_code == 200, r.text
        ids[name] = r.json()["review_item"]["id"]
    return ids


def _log_in(pages: Any, server: Any, ctx: Any) -> Any:
    page = pages.open_plain("/review", ctx)
    expect(page.locator("h1")).to_have_text("Log in to review")
    tab_to(page, "#key")  # the keyboard only, from the first key press
    page.keyboard.type(server.review_key)
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-ready='true']", state="attached")
    return page


def _small_png(png: bytes) -> bytes:
    """A screenshot in 128 colours: small enough to commit."""
    buf = io.BytesIO()
    with Image.open(io.BytesIO(png)) as im:
        im.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(
            buf, "PNG", optimize=True)
    return buf.getvalue()


def _filter(page: Any) -> str:
    return str(page.evaluate("() => getComputedStyle(document.getElementById('picture')).filter"))


def _frame_pixels(page: Any) -> np.ndarray:
    png = page.locator("#picture").screenshot()
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


def _detail(pixels: np.ndarray) -> float:
    """Mean difference between neighbouring pixels: a blurred picture has little."""
    grey = pixels.mean(axis=2)
    return float(np.abs(np.diff(grey, axis=1)).mean() + np.abs(np.diff(grey, axis=0)).mean())


def _colour(pixels: np.ndarray) -> float:
    """Mean spread between a pixel's channels: 0 for greyscale."""
    return float((pixels.max(axis=2) - pixels.min(axis=2)).mean())


def _shown_id(page: Any) -> str:
    expect(page.locator("#item")).to_be_visible()
    page.wait_for_function("() => document.getElementById('picture').dataset.drawn === "
                           "document.getElementById('item-id').textContent")
    assert page.locator("#media-note").is_hidden()
    return str(page.text_content("#item-id"))


def _audit(server: Any, action: str) -> list[dict[str, Any]]:
    r = httpx.get(server.base + f"/v1/admin/audit?action={action}", timeout=10,
                  headers={"Authorization": f"Bearer {server.admin_key}"})  # type: ignore[attr-defined]
    assert r.status_code == 200, r.text
    return r.json()["events"]  # type: ignore[no-any-return]


def test_review_flow_blurred_reveal_decide_break_by_keyboard(
        review_pages: Any, review_server: Any, photos: list[Path]) -> None:
    pages = review_pages
    ids = _queue(review_server, photos)
    # the derived copy's differing region (found by the region signal) stays blurred
    # while the rest is revealed
    r = httpx.get(review_server.base + f"/v1/review/items/{ids['other']}", timeout=10,
                  headers={"Authorization": f"Bearer {review_server.review_key}"})
    assert r.status_code == 200 and r.json()["region"]["h"] > 0.3, r.text
    ctx = pages.context(device_scale_factor=1, timezone_id="UTC")
    page = _log_in(pages, review_server, ctx)
    cookies = ctx.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"], c["path"]) for c in cookies] == [
        ("veil_review", True, "Strict", "/review")]
    assert page.evaluate("() => document.cookie") == ""  # not readable by scripts

    # 1. the derived copy, blurred and grey
    assert _shown_id(page) == ids["other"]
    expect(page.locator("#deadline")).to_contain_text("Act within 47 h")
    style = _filter(page)
    assert "blur(" in style and "grayscale(1)" in style, style
    veiled = _frame_pixels(page)
    assert _colour(veiled) < 2, _colour(veiled)
    shots = {"reviewer-blurred.png": page.screenshot()}

    page.keyboard.press("r")  # a deliberate reveal
    expect(page.locator("#picture")).to_have_class("revealed")
    style = _filter(page)
    assert "blur(" not in style and "grayscale(1)" in style, style
    clear = _frame_pixels(page)
    assert _detail(clear) > 3 * _detail(veiled), (_detail(clear), _detail(veiled))
    region = page.evaluate("() => { const r = document.getElementById('region'); "
                           "return [r.hidden, getComputedStyle(r).backdropFilter]; }")
    assert region[0] is False and "blur(" in region[1], region
    shots["reviewer-revealed.png"] = page.screenshot()
    page.keyboard.press("c")  # colour, while revealed
    assert _filter(page) == "none"
    assert [e["detail"]["item"] for e in _audit(review_server, "review.reveal")] == [
        ids["other"]]
    # limited reveal time: blurred again on its own
    expect(page.locator("#picture")).to_have_class("veiled", timeout=(REVEAL_S + 5) * 1000)

    # 2. decide it from the keyboard; the next item comes blurred
    page.keyboard.press("r")
    expect(page.locator("#picture")).to_have_class("revealed")
    page.keyboard.press("3")  # not NCII
    page.wait_for_function(f"() => document.getElementById('item-id').textContent "
                           f"=== '{ids['case-1']}'")
    assert _shown_id(page) == ids["case-1"]
    assert "blur(" in _filter(page)  # re-blurred when moving on
    # the keyboard reaches every control too
    tab_to(page, "#reveal")
    page.keyboard.press("Enter")
    expect(page.locator("#picture")).to_have_class("revealed")
    page.keyboard.press("Escape")
    page.keyboard.press("1")  # confirmed NCII

    # 3. only the same person's case is left: a break prompt first
    expect(page.locator("#break")).to_be_visible()
    expect(page.locator("#item")).to_be_hidden()
    shots["reviewer-break.png"] = page.screenshot()
    page.keyboard.press("b")
    assert _shown_id(page) == ids["case-2"]
    assert "blur(" in _filter(page)
    page.keyboard.press("4")  # unclear: a second reviewer decides
    expect(page.locator("#empty")).to_be_visible()

    decided = {e["detail"]["item"]: e["detail"]["code"]
               for e in _audit(review_server, "review.decide")}
    assert decided == {ids["other"]: "not_ncii", ids["case-1"]: "confirmed_ncii",
                       ids["case-2"]: "unclear"}
    # the confirmed copy is blocked from now on
    r = httpx.post(review_server.base + "/v1/scan", timeout=30,
                   content=_reencoded(photos[40], 85),
                   headers={"Authorization": f"Bearer {review_server.platform_key}",
                            "Content-Type": "application/octet-stream"})
    assert r.json()["decision"] == "block"
    assert "review-confirmed" in {m["bank"] for m in r.json()["matches"]}
    if SHOTS:
        folder = REPO / SHOTS
        folder.mkdir(parents=True, exist_ok=True)
        for name, png in shots.items():
            (folder / name).write_bytes(_small_png(png))


def test_review_page_has_no_accessibility_violation(review_pages: Any, review_server: Any,
                                                    photos: list[Path]) -> None:
    pages = review_pages
    _queue(review_server, photos)
    # axe is injected as an inline script: this context bypasses the CSP
    ctx = pages.context(bypass_csp=True)
    page = pages.open_plain("/review", ctx)
    problems = axe_problems(page, "/review log-in")
    page.fill("#key", "wrong")
    page.click("#login")
    expect(page.locator("#login-error")).to_have_text("That is not a valid review key.")
    problems += axe_problems(page, "/review log-in refused")
    page = _log_in(pages, review_server, ctx)
    first = _shown_id(page)
    problems += axe_problems(page, "/review item")
    page.keyboard.press("r")
    problems += axe_problems(page, "/review item revealed")
    page.keyboard.press("3")
    page.wait_for_function("id => document.getElementById('item-id').textContent !== id",
                           arg=first)
    _shown_id(page)
    page.keyboard.press("3")
    expect(page.locator("#break")).to_be_visible()
    problems += axe_problems(page, "/review break")
    assert not problems, "\n".join(problems)
