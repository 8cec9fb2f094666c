"""The intake pages end to end, in real Chromium against a real ``veil serve``.

A person chooses photos on /protect, reads what will be sent, confirms and sends; the
hashes are the server's own (bit for bit), a platform's ``/v1/match`` finds them; on
/case the token shows the case and withdraws it, a photo at a time or all at once,
and the withdrawn hashes stop matching. The privacy test records every request of a
whole visit: only hashes ever leave the browser, and only to Veil's own origin.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from web_support import (
    UNTICKED,
    as_png,
    catalog,
    choose,
    expected_payload,
    fill,
    open_case,
    server_signals,
    shown_code,
    submit,
    tab_to,
    victim_matches,
)

from veil.regions import blob, features

EN = catalog("en")
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"RIFF", b"JFIF", b"Exif", b"IHDR",
               b"IDAT")


def test_submit_see_and_withdraw_stops_matching(pages: Any, veil_server: Any,
                                                photos: list[Path]) -> None:
    chosen = [photos[20], photos[21]]
    want = expected_payload(chosen, UNTICKED)  # nothing ticked yet
    sig = [server_signals(p) for p in chosen]
    page = pages.open("/protect")
    choose(page, [str(p) for p in chosen], ready=2)

    # the person reads exactly what will be sent: the server's own hashes, nothing else
    assert json.loads(page.text_content("#payload")) == want
    review = page.text_content("#review-list")
    for s in sig:
        assert s["pdq"] in review and s["md5"] in review
        assert s["region"][:32] in review  # its start; all of it is in the raw view
    token = submit(page)

    # platforms now match both photos, by PDQ and by MD5
    for s in sig:
        assert [m["distance"] for m in victim_matches(veil_server.match("pdq", s["pdq"]))] == [0]
        assert victim_matches(veil_server.match("md5", s["md5"]))

    # the code can be downloaded as a text file, which says which photo is which
    code = shown_code(page)
    with page.expect_download() as dl:
        page.click("#download")
    assert dl.value.suggested_filename == "veil-case-code.txt"
    text = Path(dl.value.path()).read_text("utf-8")
    assert code in text and f"{veil_server.base}/case" in text
    assert token not in text  # the code is the one way to write it
    for i, p in enumerate(chosen, 1):
        assert f"{fill(EN['review.photo'], n=i)}: {p.name}\n" in text
    expect(page.locator("#after-save")).to_be_hidden()
    page.check("#saved")
    page.click("#case-link")
    page.wait_for_url(f"{veil_server.base}/case?lang=en")
    page.wait_for_selector("body[data-ready='true']", state="attached")

    # the person types the code from the file (the page sends the token it stands for)
    open_case(page, code)
    assert token not in page.url and code not in page.url
    assert page.input_value("#case-token") == ""  # kept in memory only
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0
    expect(page.locator("#case-summary")).to_have_text(
        fill(EN["case.summary_open"], active=4, total=4))
    photo_items = page.locator(".case-photo")
    expect(photo_items).to_have_count(2)
    # each photo's visual fingerprint matched once above; the count is shown
    expect(photo_items.nth(0)).to_contain_text(fill(EN["case.matched"], n=1))
    expect(photo_items.nth(0)).to_contain_text(EN["case.kind_pdq"])
    expect(photo_items.nth(0)).to_contain_text(EN["case.kind_md5"])

    # withdraw photo 1 (cancel first: nothing happens)
    page.click("text=" + fill(EN["case.withdraw_photo"], n=1))
    expect(page.locator("#confirm")).to_be_visible()
    expect(page.locator("#confirm-text")).to_have_text(fill(EN["case.confirm_photo"], n=1))
    page.click("#confirm-no")
    expect(page.locator("#confirm")).to_be_hidden()
    assert victim_matches(veil_server.match("pdq", sig[0]["pdq"]))
    page.click("text=" + fill(EN["case.withdraw_photo"], n=1))
    page.click("#confirm-yes")
    expect(page.locator("#case-status")).to_have_text(fill(EN["case.withdrawn_photo"], n=1))
    expect(page.locator("#case-summary")).to_have_text(
        fill(EN["case.summary_open"], active=2, total=4))
    expect(photo_items.nth(0).locator(".badge.withdrawn")).to_have_count(2)
    expect(photo_items.nth(0).locator("button")).to_have_count(0)

    # photo 1's hashes no longer match anywhere; photo 2's still do
    assert victim_matches(veil_server.match("pdq", sig[0]["pdq"])) == []
    assert victim_matches(veil_server.match("md5", sig[0]["md5"])) == []
    assert victim_matches(veil_server.match("pdq", sig[1]["pdq"]))

    # withdraw everything
    page.click("#withdraw-all")
    expect(page.locator("#confirm-text")).to_have_text(EN["case.confirm_all"])
    page.click("#confirm-yes")
    expect(page.locator("#case-status")).to_have_text(EN["case.withdrawn_all"])
    expect(page.locator("#case-summary")).to_have_text(EN["case.summary_withdrawn"])
    expect(page.locator("#withdraw-all")).to_be_hidden()
    assert victim_matches(veil_server.match("pdq", sig[1]["pdq"])) == []
    assert victim_matches(veil_server.match("md5", sig[1]["md5"])) == []
    r = httpx.get(veil_server.base + "/v1/cases/me", headers={"X-Case-Token": token})
    assert r.json()["status"] == "withdrawn"

    # hiding the case forgets the token on the page
    page.click("#forget")
    expect(page.locator("#lookup")).to_be_visible()
    expect(page.locator("#lookup-status")).to_have_text(EN["case.forgotten"])
    assert token not in page.content() and code not in page.content()


def test_wrong_code_is_explained(pages: Any) -> None:
    page = pages.open("/case")
    page.click("#lookup-button")
    expect(page.locator("#case-error")).to_have_text(EN["case.token_missing"])
    open_attempt = "x" * 43
    page.fill("#case-token", open_attempt)
    page.click("#lookup-button")
    expect(page.locator("#case-error")).to_have_text(EN["case.token_invalid"])
    assert page.get_attribute("#case-token", "aria-invalid") == "true"
    expect(page.locator("#case-view")).to_be_hidden()


def test_privacy_only_hashes_leave_the_browser(pages: Any, veil_server: Any,
                                               photos: list[Path], tmp_path: Path) -> None:
    base = veil_server.base
    # file names the person chose: shown on the page, written into the code file,
    # and never sent (checked below in every request's URL, headers and body)
    jpg = tmp_path / "Zoya-privat-7q2x.jpg"
    jpg.write_bytes(photos[30].read_bytes())
    png = tmp_path / "Отпуск-9k4w.png"
    png.write_bytes(as_png(photos[31]))
    chosen = [jpg, png]
    names = [p.name for p in chosen] + [p.stem for p in chosen]
    files = {p: p.read_bytes() for p in chosen}
    ctx = pages.context()
    requests: list[Any] = []
    sockets: list[str] = []
    ctx.on("request", lambda r: requests.append(r))
    page = pages.open("/protect", ctx)
    page.on("websocket", lambda ws: sockets.append(ws.url))
    document = page.goto(base + "/protect")  # again, to read the document's own response
    page.wait_for_selector("body[data-ready='true']", state="attached")
    assert document.headers["content-security-policy"].startswith("default-src 'none';")
    choose(page, [str(p) for p in chosen], ready=2)
    page.click("#previews")  # previews are local object URLs
    page.click("summary")
    token = submit(page)
    with page.expect_download() as dl:
        page.click("#download")
    saved = Path(dl.value.path()).read_text("utf-8")
    assert all(p.name in saved for p in chosen)  # the names are in the file…
    expect(page.locator("#done-list")).to_contain_text(png.name)  # …and on the page
    page.check("#saved")
    page.click("#case-link")
    page.wait_for_selector("body[data-ready='true']", state="attached")
    open_case(page, token)
    page.click("#withdraw-all")
    page.click("#confirm-yes")
    expect(page.locator("#case-summary")).to_have_text(EN["case.summary_withdrawn"])

    assert not sockets
    assert len(requests) > 10
    bodies = []
    for r in requests:
        url = r.url
        # every request goes to Veil itself (blob: URLs are this page's own object URLs)
        assert url.startswith((base + "/", f"blob:{base}/", "data:")), url
        for name, value in r.headers.items():
            assert len(value) < 512, (url, name)
            assert not any(n in value for n in names), (url, name, value)
        assert not any(n in url or quote(n) in url for n in names), url
        body = r.post_data_buffer
        if body:
            bodies.append((r.method, url, body))
    # exactly one request carried data: the case, which is the hashes and the attestation
    posts = [(m, u) for m, u, _ in bodies]
    assert posts == [("POST", base + "/v1/cases")], posts
    body = bodies[0][2]
    assert json.loads(body) == expected_payload(chosen)
    # per photo: 64 + 32 hex digits, and a region blob of at most 256 keypoints (base64,
    # with its key)
    region_b64 = 4 * -(-blob.size_for(features.BANK_POINTS) // 3)
    assert len(body) < (350 + region_b64) * len(chosen), len(body)
    for data in files.values():
        samples = [data[i:i + 48] for i in range(0, len(data) - 48, len(data) // 16 // 3 * 3)]
        for chunk in samples:
            assert base64.b64encode(chunk) not in body
            assert chunk.hex().encode() not in body
            assert chunk not in body
    for magic in IMAGE_MAGIC:
        assert magic not in body
    # …and no file name, in any spelling a request could carry it
    for n in names:
        for spelled in (n.encode(), quote(n).encode(), json.dumps(n).encode()):
            assert spelled not in body, n
    # the method and headers of the case request: JSON, no credentials of any kind
    create = next(r for r in requests if r.method == "POST").all_headers()
    assert create["content-type"] == "application/json"
    assert "cookie" not in create
    assert "referer" not in create

    # nothing kept in the browser
    assert ctx.cookies() == []
    state = page.evaluate("""async () => ({
        storage: localStorage.length + sessionStorage.length,
        databases: (await indexedDB.databases()).length,
        caches: (await caches.keys()).length,
        workers: (await navigator.serviceWorker.getRegistrations()).length,
    })""")
    assert state == {"storage": 0, "databases": 0, "caches": 0, "workers": 0}


def open_chooser_by_keyboard(page: Any) -> Any:
    """Tab to the photo input and press Space: the file chooser it opens. A loaded CI
    machine once lost that key press (no chooser in 15 s, never seen alone), so it is
    pressed up to three times; a page whose input the keyboard cannot open fails."""
    for _ in range(3):
        if not page.evaluate("() => document.activeElement && document.activeElement.id"
                             " === 'files'"):
            tab_to(page, "#files")
        try:
            with page.expect_file_chooser(timeout=5000) as chooser:
                page.keyboard.press("Space")
        except PlaywrightTimeout:
            continue
        return chooser.value
    raise AssertionError("Space on the focused photo input opened no file chooser")


def test_keyboard_only(pages: Any, veil_server: Any, photos: list[Path]) -> None:
    chosen = photos[40]
    sig = server_signals(chosen)
    ctx = pages.context()
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=veil_server.base)
    page = pages.open("/protect", ctx)
    kb = page.keyboard

    open_chooser_by_keyboard(page).set_files(str(chosen))
    expect(page.locator("#review-list > li")).to_have_count(1)

    # sending without the attestations says why and puts the focus on the first box
    tab_to(page, "#send")
    kb.press("Enter")
    expect(page.locator("#send-error")).to_have_text(EN["attest.missing"])
    assert page.evaluate("() => document.activeElement.id") == "att-self"
    kb.press("Space")
    tab_to(page, "#att-intimate")
    kb.press("Space")
    tab_to(page, "#send")
    kb.press("Enter")
    expect(page.locator("#step-done")).to_be_visible()
    assert page.evaluate("() => document.activeElement.id") == "done-h"
    token = shown_code(page)

    tab_to(page, "#copy")
    kb.press("Enter")
    expect(page.locator("#token-status")).to_have_text(EN["done.copied"])
    assert page.evaluate("() => navigator.clipboard.readText()") == token
    tab_to(page, "#saved")
    kb.press("Space")
    tab_to(page, "#case-link")
    kb.press("Enter")
    page.wait_for_url("**/case?lang=en")
    page.wait_for_selector("body[data-ready='true']", state="attached")

    tab_to(page, "#case-token")
    kb.type(token)
    kb.press("Enter")
    expect(page.locator("#case-view")).to_be_visible()
    tab_to(page, "#withdraw-all")
    kb.press("Enter")
    expect(page.locator("#confirm")).to_be_visible()
    assert page.evaluate("() => document.activeElement.id") == "confirm-no"  # safe default
    kb.press("Escape")
    expect(page.locator("#confirm")).to_be_hidden()
    assert page.evaluate("() => document.activeElement.id") == "withdraw-all"
    assert victim_matches(veil_server.match("pdq", sig["pdq"]))
    kb.press("Enter")
    tab_to(page, "#confirm-yes", back=True)
    kb.press("Enter")
    expect(page.locator("#case-summary")).to_have_text(EN["case.summary_withdrawn"])
    assert victim_matches(veil_server.match("pdq", sig["pdq"])) == []


def test_switching_language_keeps_the_chosen_photos(pages: Any, photos: list[Path]) -> None:
    page = pages.open("/protect")
    choose(page, [str(photos[45]), str(photos[46])], ready=2)
    payload = page.text_content("#payload")
    uk = catalog("uk")
    page.click("a[data-lang='uk']")
    expect(page.locator("h1")).to_have_text(uk["protect.title"])
    assert page.evaluate("() => document.documentElement.lang") == "uk"
    assert page.url.endswith("/protect?lang=uk")
    expect(page.locator("#review-list > li")).to_have_count(2)
    expect(page.locator("#review-list > li h3").first).to_contain_text(
        fill(uk["review.photo"], n=1))
    expect(page.locator("#photo-list .msg").first).to_have_text(uk["photo.ready"])
    expect(page.locator("#send")).to_have_text(uk["send.button"])
    expect(page.locator("a[data-lang='uk']")).to_have_attribute("aria-current", "true")
    expect(page.locator(".top-links a")).to_have_attribute("href", "/case?lang=uk")
    assert page.text_content("#payload") == payload
    # nothing is ticked yet, and the raw view says so
    assert json.loads(payload)["attestation"] == UNTICKED


def test_photos_can_be_dropped(pages: Any, photos: list[Path]) -> None:
    chosen = [photos[47], photos[48]]
    page = pages.open("/protect")
    transfer = page.evaluate_handle("""(files) => {
        const dt = new DataTransfer();
        for (const [name, bytes] of files) {
            dt.items.add(new File([new Uint8Array(bytes)], name, { type: 'image/jpeg' }));
        }
        return dt;
    }""", [[p.name, list(p.read_bytes())] for p in chosen])
    page.dispatch_event("#drop", "dragenter", {"dataTransfer": transfer})
    expect(page.locator("#drop")).to_have_class("drop dragging")
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    expect(page.locator("#drop")).to_have_class("drop")
    expect(page.locator("#review-list > li")).to_have_count(2)
    assert json.loads(page.text_content("#payload")) == expected_payload(chosen, UNTICKED)


def test_the_browser_enforces_the_csp(pages: Any) -> None:
    """Inline script, another origin's image and a fetch elsewhere are all refused (the
    other origin is another loopback address: nothing could leave the machine anyway)."""
    page = pages.open("/protect")
    got = page.evaluate("""async () => {
        const seen = [];
        document.addEventListener('securitypolicyviolation',
                                  (e) => seen.push(e.effectiveDirective));
        const s = document.createElement('script');
        s.textContent = 'window.injected = true';
        document.body.append(s);
        const img = new Image();
        img.src = 'http://127.0.0.2:9/pixel.png';
        document.body.append(img);
        let fetched = true;
        try { await fetch('http://127.0.0.2:9/collect', { method: 'POST', body: 'x' }); }
        catch { fetched = false; }
        await new Promise((r) => setTimeout(r, 200));
        return { injected: !!window.injected, fetched, seen: [...new Set(seen)].sort() };
    }""")
    assert got == {"injected": False, "fetched": False,
                   "seen": ["connect-src", "img-src", "script-src-elem"]}, got
    assert all("Content Security Policy" in e or "Failed to fetch" in e or "pixel.png" in e
               for e in pages.errors), pages.errors
    pages.errors.clear()
