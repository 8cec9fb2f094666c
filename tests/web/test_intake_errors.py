"""/protect explains, in plain words, every file it cannot protect, and sends only the
photos it can: unreadable bytes, an unsupported format (HEIC: convert or screenshot),
a truncated or empty file, and a too-flat picture whose PDQ would be unreliable (its
quality is below the server's floor, ``Thresholds.pdq_min_quality``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from playwright.sync_api import expect
from web_support import catalog, choose, fill, png_bytes, server_signals

from veil.signals.pdq import PDQ

FORMATS = "JPEG, PNG, WebP, GIF, BMP"


def _file(name: str, mime: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": data}


def _messages(page: Any) -> dict[str, str]:
    out = {}
    for item in page.locator("#photo-list > li").all():
        out[item.locator(".name").text_content()] = item.locator(".msg").text_content()
    return out


def test_each_problem_is_explained_and_only_good_photos_are_sent(pages: Any,
                                                                 photos: list[Path]) -> None:
    en = catalog("en")
    rng = np.random.default_rng(6)
    good = photos[60].read_bytes()
    files = [
        _file("random.jpg", "image/jpeg", rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()),
        _file("grey.png", "image/png", png_bytes()),
        _file("IMG_0001.HEIC", "image/heic",
              b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(300)),
        _file("cut.jpg", "image/jpeg", good[: len(good) // 2]),
        _file("empty.jpg", "image/jpeg", b""),
        _file("beach.jpg", "image/jpeg", good),
        _file("beach copy.jpg", "image/jpeg", good),
    ]
    page = pages.open("/protect")
    choose(page, files, ready=1)
    got = _messages(page)
    assert got["random.jpg"] == en["error.unreadable"]
    assert FORMATS in got["random.jpg"] and "AVIF" in got["random.jpg"]
    grey_quality = 0
    assert got["grey.png"] == en["error.low_quality"] + " " + fill(
        en["photo.quality"], quality=grey_quality, min=PDQ.min_quality)
    assert "too plain" in got["grey.png"] and "will not be sent" in got["grey.png"]
    assert got["IMG_0001.HEIC"] == en["error.unsupported_heic"]
    assert "JPEG" in got["IMG_0001.HEIC"] and "screenshot" in got["IMG_0001.HEIC"]
    assert got["cut.jpg"] == en["error.truncated"]
    assert got["empty.jpg"] == en["error.empty"]
    assert got["beach.jpg"] == en["photo.ready"]
    assert got["beach copy.jpg"] == en["photo.duplicate"]
    problems = page.locator("#photo-list > li[data-state='problem'] .msg.notice")
    expect(problems).to_have_count(5)
    expect(page.locator("#choose-status")).to_contain_text(
        fill(en["choose.status"], ready=1, total=6))

    # only the good photo is in what will be sent
    sent = json.loads(page.text_content("#payload"))
    want = server_signals(photos[60])
    assert [s["value"] for s in sent["signals"]] == [want["pdq"], want["md5"]]

    # the same explanations in Russian
    ru = catalog("ru")
    page.click("a[data-lang='ru']")
    expect(page.locator("h1")).to_have_text(ru["protect.title"])
    got = _messages(page)
    assert got["random.jpg"] == ru["error.unreadable"]
    assert got["grey.png"].startswith(ru["error.low_quality"])
    assert got["IMG_0001.HEIC"] == ru["error.unsupported_heic"]

    # removing a photo by its button; the list and the count follow
    page.click("button[aria-label='" + fill(ru["photo.remove_label"], name="random.jpg") + "']")
    expect(page.locator("#photo-list > li")).to_have_count(6)
    expect(page.locator("#choose-status")).to_contain_text(
        fill(ru["choose.status"], ready=1, total=5))


def test_the_server_refuses_what_the_page_refuses(veil_server: Any) -> None:
    """The page's quality floor is the server's: a low-quality PDQ is refused there too."""
    low = PDQ.min_quality - 1
    body = {"signals": [{"signal": "pdq", "value": "ab" * 32, "quality": low}],
            "attestation": {"self_or_guardian": True, "intimate": True}}
    r = httpx.post(veil_server.base + "/v1/cases", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "intake.low_quality"
    html = httpx.get(veil_server.base + "/protect").text
    assert f'data-min-quality="{PDQ.min_quality}"' in html


def test_a_failed_send_keeps_everything_and_can_be_retried(pages: Any, photos: list[Path]
                                                           ) -> None:
    en = catalog("en")
    page = pages.open("/protect")
    choose(page, [str(photos[62])], ready=1)
    page.check("#att-self")
    page.check("#att-intimate")
    keys = []

    def offline(route: Any) -> None:
        keys.append(route.request.headers["idempotency-key"])
        route.abort("internetdisconnected")

    page.route("**/v1/cases", offline)
    page.click("#send")
    expect(page.locator("#send-error")).to_have_text(en["common.offline"])
    page.unroute("**/v1/cases")
    page.route("**/v1/cases", lambda route: route.fulfill(
        status=429, json={"error": {"code": "rate_limited", "message": "slow down"}}))
    page.click("#send")
    expect(page.locator("#send-error")).to_have_text(en["common.rate_limited"])
    page.unroute("**/v1/cases")
    expect(page.locator("#review-list > li")).to_have_count(1)  # nothing was lost
    with page.expect_request("**/v1/cases") as sent:
        page.click("#send")
    # the retry is the same submission (one case, even if the first had arrived)
    assert sent.value.headers["idempotency-key"] == keys[0]
    expect(page.locator("#step-done")).to_be_visible()
