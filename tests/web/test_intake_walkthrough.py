"""The intake pages as a person meets them (issue 11, section 6), in real Chromium at a
phone's size (390×844, touch, no mouse) and a desktop's (1280×800, mouse), in English,
Russian and Ukrainian wherever the text matters:

1. after "Send", step 3 ("Save your case code") is on screen and has the focus;
2. "Choose photos" is on the first screen; "or drag them here" only with a mouse;
3. a problem is told in a short, calm message that says what to do;
4. "Show exactly what will be sent" shows the attestation as ticked, not `true`;
5. after "Withdraw everything", the case page shows the final state, no withdrawal;
6. the code file and the printout list Photo 1, 2… by the names the person chose;
   the code has no look-alike characters, and typed back (any case, with spaces)
   it opens the case;
7. "Leave quickly" replaces the page with the operator's neutral page (loopback
   here), leaves no Veil page behind in the tab's history, and the operator's
   helplines are on both pages in every language, as text.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from web_support import (
    CODE_RE,
    DEVICES,
    HELPLINES,
    LANGS,
    LOCALES,
    UNTICKED,
    catalog,
    choose,
    code_to_token,
    fill,
    png_bytes,
    shown_code,
    submit,
    tab_to,
    token_to_code,
)

from veil.config import Helpline
from veil.signals.pdq import PDQ

DEVICE_NAMES = list(DEVICES)


def _open(pages: Any, path: str, lang: str = "en", device: str = "desktop", **options: Any
          ) -> Any:
    ctx = pages.context(locale=LOCALES[lang], **{**DEVICES[device], **options})
    return pages.open(f"{path}?lang={lang}", ctx)


def _box(page: Any, selector: str) -> dict[str, float]:
    """The element's box in the viewport (not the page), and what is on top of its
    middle: the element itself, or something covering it."""
    return page.evaluate("""(s) => {
        const el = document.querySelector(s);
        const r = el.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return { top: r.top, bottom: r.bottom, left: r.left, right: r.right,
                 onTop: !!hit && (el === hit || el.contains(hit)),
                 vh: window.innerHeight, scrollY: window.scrollY };
    }""", selector)


def _case(server: Any, photos: int = 2) -> str:
    """A case made through the API (as the page would): ``photos`` × (PDQ, MD5)."""
    signals: list[dict[str, Any]] = []
    for _ in range(photos):
        signals.append({"signal": "pdq", "value": secrets.token_hex(32), "quality": 90})
        signals.append({"signal": "md5", "value": secrets.token_hex(16)})
    r = httpx.post(server.base + "/v1/cases", json={
        "signals": signals, "attestation": {"self_or_guardian": True, "intimate": True}})
    assert r.status_code == 201, r.text
    return r.json()["case_token"]  # type: ignore[no-any-return]


# -- 1. step 3 in view, focus on its heading ---------------------------------------------
@pytest.mark.parametrize("device", DEVICE_NAMES)
@pytest.mark.parametrize("lang", LANGS)
def test_after_send_step_3_is_in_view_with_the_focus(pages: Any, photos: list[Path],
                                                      lang: str, device: str) -> None:
    text = catalog(lang)
    page = _open(pages, "/protect", lang, device)
    choose(page, [str(photos[70]), str(photos[71])], ready=2)
    submit(page)
    heading = page.locator("#done-h")
    expect(heading).to_be_focused()
    expect(heading).to_contain_text(text["done.title"])
    box = _box(page, "#done-h")
    # on screen, whole, and not under the quick-exit button
    assert box["top"] >= 0 and box["bottom"] <= box["vh"], box
    assert box["onTop"], box
    # the code itself follows right below
    code = _box(page, "#token")
    assert code["top"] < code["vh"], code


# -- 2. "Choose photos" on the first screen; dragging only with a mouse ----------------------
@pytest.mark.parametrize("device", DEVICE_NAMES)
@pytest.mark.parametrize("lang", LANGS)
def test_choose_photos_is_on_the_first_screen(pages: Any, lang: str, device: str) -> None:
    page = _open(pages, "/protect", lang, device)
    button = page.locator("label[for='files']")
    expect(button).to_have_text(catalog(lang)["choose.button"])
    box = _box(page, "label[for='files']")
    assert box["scrollY"] == 0
    assert box["top"] >= 0 and box["bottom"] <= box["vh"], box
    assert box["onTop"], box
    # the quick-exit button, which stays at the top, covers no link of the header
    exit_box = page.locator("#quick-exit").bounding_box()
    for link in page.locator("header a").all():
        b = link.bounding_box()
        apart = (b["x"] + b["width"] <= exit_box["x"] or exit_box["x"] + exit_box["width"] <= b["x"]
                 or b["y"] + b["height"] <= exit_box["y"]
                 or exit_box["y"] + exit_box["height"] <= b["y"])
        assert apart, (link.text_content(), b, exit_box)
    width = DEVICES[device]["viewport"]["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize(("size", "touch", "shown"), [
    ("phone", True, False),     # a phone: touch only
    ("phone", False, True),     # a narrow desktop window: a mouse can drag
    ("desktop", False, True),   # a desktop
    ("desktop", True, False),   # a large tablet: touch only
])
def test_drag_hint_only_where_dragging_exists(pages: Any, size: str, touch: bool,
                                              shown: bool) -> None:
    options = {"viewport": DEVICES[size]["viewport"], "has_touch": touch, "is_mobile": touch}
    page = pages.open("/protect", pages.context(**options))
    assert page.evaluate("() => matchMedia('(pointer: coarse)').matches") is touch
    hint = page.locator("#drop .drop-hint")
    if shown:
        expect(hint).to_be_visible()
        expect(hint).to_have_text(catalog("en")["choose.drop"])
    else:
        expect(hint).to_be_hidden()
    border = page.evaluate("() => getComputedStyle(document.getElementById('drop')).borderStyle")
    assert (border == "dashed") is shown
    # the file chooser is there either way
    expect(page.locator("label[for='files']")).to_be_visible()


# -- 3. short, calm messages that say what to do ----------------------------------------------
CALM = """(el) => {
    const s = getComputedStyle(el);
    const body = getComputedStyle(document.body);
    return { weight: Number(s.fontWeight), color: s.color, bodyColor: body.color,
             lines: Math.round(el.getBoundingClientRect().height / parseFloat(s.lineHeight)),
             line: s.borderLeftStyle };
}"""


def _assert_calm(el: Any, most_lines: int) -> None:
    got = el.evaluate(CALM)
    assert got["weight"] <= 400, got  # not bold
    assert got["color"] == got["bodyColor"], got  # the text colour, not red
    assert got["line"] == "solid", got  # marked by its side line instead
    # a notice has a little padding: its height is a few px more than its lines
    assert got["lines"] <= most_lines, (got, el.text_content())


@pytest.mark.parametrize("device", DEVICE_NAMES)
@pytest.mark.parametrize("lang", LANGS)
def test_problems_are_short_and_calm(pages: Any, photos: list[Path], lang: str,
                                     device: str) -> None:
    text = catalog(lang)
    good = photos[72].read_bytes()
    files = [
        {"name": "random.jpg", "mimeType": "image/jpeg", "buffer": secrets.token_bytes(3000)},
        {"name": "grey.png", "mimeType": "image/png", "buffer": png_bytes()},
        {"name": "IMG_0002.HEIC", "mimeType": "image/heic",
         "buffer": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(300)},
        {"name": "cut.jpg", "mimeType": "image/jpeg", "buffer": good[: len(good) // 2]},
        {"name": "empty.jpg", "mimeType": "image/jpeg", "buffer": b""},
        {"name": "fine.jpg", "mimeType": "image/jpeg", "buffer": good},
    ]
    want = {
        "random.jpg": text["error.unreadable"],
        "grey.png": text["error.low_quality"] + " " + fill(text["photo.quality"], quality=0,
                                                           min=PDQ.min_quality),
        "IMG_0002.HEIC": text["error.unsupported_heic"],
        "cut.jpg": text["error.truncated"],
        "empty.jpg": text["error.empty"],
    }
    page = _open(pages, "/protect", lang, device)
    choose(page, files, ready=1)
    most = 6 if device == "phone" else 3
    for item in page.locator("#photo-list > li[data-state='problem']").all():
        name = item.locator(".name").text_content()
        msg = item.locator(".msg")
        expect(msg).to_have_text(want.pop(name))
        _assert_calm(msg, most)
    assert not want

    # sending without the attestations: one calm line, and the focus on the first box
    page.click("#send")
    error = page.locator("#send-error")
    expect(error).to_have_text(text["attest.missing"])
    _assert_calm(error, 2)
    expect(page.locator("#att-self")).to_be_focused()

    # a wrong code on the case page
    page = _open(pages, "/case", lang, device)
    page.fill("#case-token", "ABCD-" * 12 + "ABCD")
    page.click("#lookup-button")
    error = page.locator("#case-error")
    expect(error).to_have_text(text["case.token_invalid"])
    _assert_calm(error, 3)


# -- 4. the raw view shows the real attestation ----------------------------------------------
@pytest.mark.parametrize("device", DEVICE_NAMES)
def test_the_raw_view_shows_the_attestation_as_ticked(pages: Any, photos: list[Path],
                                                      device: str) -> None:
    page = _open(pages, "/protect", "en", device)
    choose(page, [str(photos[73])], ready=1)
    page.click("summary")
    payload = page.locator("#payload")
    expect(payload).to_be_visible()

    def shown() -> dict[str, bool]:
        return json.loads(payload.text_content())["attestation"]  # type: ignore[no-any-return]

    assert shown() == UNTICKED
    page.check("#att-self")
    assert shown() == {**UNTICKED, "self_or_guardian": True}
    page.check("#att-intimate")
    assert shown() == {**UNTICKED, "self_or_guardian": True, "intimate": True}
    page.uncheck("#att-self")
    assert shown() == {**UNTICKED, "intimate": True}
    page.check("#att-self")
    page.check("#att-share")  # optional: sharing with partner platforms
    assert shown() == {"self_or_guardian": True, "intimate": True, "share_with_partners": True}
    raw = payload.text_content()
    with page.expect_request("**/v1/cases") as sent:
        page.click("#send")
    # what was shown is, character for character, what was sent
    assert sent.value.post_data == raw
    expect(page.locator("#step-done")).to_be_visible()


# -- 5. the final state after withdrawing everything ----------------------------------------
def _assert_final(page: Any, text: dict[str, str], lang: str) -> None:
    expect(page.locator("#case-summary")).to_have_text(text["case.summary_withdrawn"])
    final = page.locator("#case-final")
    expect(final).to_be_visible()
    expect(final).to_contain_text(text["case.final"])
    expect(final.locator("a")).to_have_attribute("href", f"/protect?lang={lang}")
    expect(page.locator("#withdraw-help")).to_be_hidden()
    expect(page.locator("#withdraw-all")).to_be_hidden()
    # the only button left is "Hide my case from this page"
    buttons = page.locator("#case-view button:visible")
    expect(buttons).to_have_count(1)
    expect(buttons).to_have_text(text["case.forget"])
    expect(page.locator(".badge.active")).to_have_count(0)


@pytest.mark.parametrize("device", DEVICE_NAMES)
@pytest.mark.parametrize("lang", LANGS)
def test_after_withdrawing_everything_the_page_shows_the_final_state(
        pages: Any, veil_server: Any, lang: str, device: str) -> None:
    text = catalog(lang)
    token = _case(veil_server, photos=2)
    page = _open(pages, "/case", lang, device)
    page.fill("#case-token", token_to_code(token))
    page.click("#lookup-button")
    expect(page.locator("#case-view")).to_be_visible()
    expect(page.locator("#case-final")).to_be_hidden()
    expect(page.locator("#withdraw-help")).to_be_visible()

    page.click("#withdraw-all")
    page.click("#confirm-yes")
    expect(page.locator("#case-status")).to_have_text(text["case.withdrawn_all"])
    _assert_final(page, text, lang)
    expect(page.locator("#case-h")).to_be_focused()

    # the same when the case is opened again later
    page = _open(pages, "/case", lang, device)
    page.fill("#case-token", token_to_code(token))
    page.click("#lookup-button")
    _assert_final(page, text, lang)


def test_withdrawing_the_last_photo_also_ends_in_the_final_state(pages: Any,
                                                                  veil_server: Any) -> None:
    text = catalog("en")
    token = _case(veil_server, photos=1)
    page = _open(pages, "/case")
    page.fill("#case-token", token_to_code(token))
    page.click("#lookup-button")
    page.click("text=" + fill(text["case.withdraw_photo"], n=1))
    page.click("#confirm-yes")
    expect(page.locator("#case-status")).to_have_text(fill(text["case.withdrawn_photo"], n=1))
    _assert_final(page, text, "en")


# -- 6. the code: no look-alikes, round trip, names in the file, a printout -----------------
def test_case_codes_round_trip_in_the_browser(pages: Any) -> None:
    """case-code.js against the second implementation in web_support, on 300 tokens
    made as the server makes them."""
    tokens = [secrets.token_urlsafe(32) for _ in range(300)]
    page = _open(pages, "/case")
    got = page.evaluate("""async (tokens) => {
        const m = await import('/static/js/case-code.js');
        return tokens.map((t) => {
            const code = m.tokenToCode(t);
            return { code, back: m.codeToToken(code),
                     typed: m.tokenFromInput(' ' + code.toLowerCase().replaceAll('-', ' ') + '\\n'),
                     squashed: m.tokenFromInput(code.replaceAll('-', '')),
                     raw: m.tokenFromInput(t) };
        });
    }""", tokens)
    for token, g in zip(tokens, got, strict=True):
        assert CODE_RE.match(g["code"]), g
        assert not re.search("[01OIl]", g["code"]), g
        assert g["code"] == token_to_code(token)
        assert code_to_token(g["code"]) == token
        assert g["back"] == g["typed"] == g["squashed"] == token, g
        assert g["raw"] == token  # a raw token still works
    # not a code: a symbol short, or a look-alike in it; not a token: too short, or
    # padding bits set in the last character (base64url that is not canonical)
    b64url = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    loose = tokens[0][:-1] + b64url[b64url.index(tokens[0][-1]) | 1]
    edge = page.evaluate("""async ([code, loose]) => {
        const m = await import('/static/js/case-code.js');
        return [m.codeToToken(code.slice(0, -1)), m.codeToToken(code.slice(0, -1) + '0'),
                m.codeToToken(code.slice(0, -1) + 'O'), m.tokenToCode('abc'),
                m.tokenToCode(loose)];
    }""", [got[0]["code"], loose])
    assert edge == [None, None, None, None, None]


@pytest.mark.parametrize("lang", LANGS)
def test_the_code_file_names_each_photo(pages: Any, veil_server: Any, photos: list[Path],
                                        tmp_path: Path, lang: str) -> None:
    text = catalog(lang)
    first = tmp_path / "beach day.jpg"
    first.write_bytes(photos[74].read_bytes())
    second = tmp_path / "Фото з відпустки №2.jpg"
    second.write_bytes(photos[75].read_bytes())
    page = _open(pages, "/protect", lang)
    choose(page, [str(first), str(second)], ready=2)
    token = submit(page)
    code = shown_code(page)
    lines = [f"{fill(text['review.photo'], n=1)}: {first.name}",
             f"{fill(text['review.photo'], n=2)}: {second.name}"]
    expect(page.locator("#done-list li")).to_have_text(lines)
    with page.expect_download() as dl:
        page.click("#download")
    saved = Path(dl.value.path()).read_bytes().decode("utf-8")
    assert saved.startswith(text["file.title"] + "\r\n\r\n" + code + "\r\n")
    assert token not in saved
    assert "\r\n".join([fill(text["file.photos"], n=2), *lines, text["file.names_note"]]) in saved
    assert f"{veil_server.base}/case\r\n" in saved

    # the code from the file, typed as a person might, opens the case
    typed = " ".join(code.lower().split("-"))
    page.check("#saved")
    page.click("#case-link")
    page.wait_for_selector("body[data-ready='true']", state="attached")
    page.locator("#case-token").press_sequentially(typed)
    page.keyboard.press("Enter")
    expect(page.locator("#case-view")).to_be_visible()
    expect(page.locator(".case-photo")).to_have_count(2)


@pytest.mark.parametrize("device", DEVICE_NAMES)
def test_the_code_can_be_printed(pages: Any, photos: list[Path], device: str) -> None:
    text = catalog("en")
    page = _open(pages, "/protect", "en", device)
    # before there is a code, printing gives the page itself (no empty sheet)
    page.emulate_media(media="print")
    expect(page.locator("#print-sheet")).to_be_hidden()
    expect(page.locator("h1")).to_be_visible()
    page.emulate_media(media="screen")

    choose(page, [str(photos[76])], ready=1)
    submit(page)
    code = shown_code(page)
    printed = page.locator("#print")
    expect(printed).to_have_text(text["done.print"])
    expect(page.locator("#print-sheet")).to_be_hidden()  # not on screen
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    printed.click()
    assert page.evaluate("() => window.printed") == 1

    page.emulate_media(media="print")
    sheet = page.locator("#print-sheet")
    expect(sheet).to_be_visible()
    expect(page.locator("#print-code")).to_have_text(code)
    expect(sheet).to_contain_text(text["print.keep"])
    expect(sheet).to_contain_text(f"{fill(text['review.photo'], n=1)}: {photos[76].name}")
    for hidden in ("main", "header", "footer", "#quick-exit", ".skip"):
        expect(page.locator(hidden).first).to_be_hidden()
    assert page.pdf().startswith(b"%PDF")  # the printout itself
    page.emulate_media(media="screen")


# -- 7. leaving quickly; the operator's helplines ----------------------------------------
@pytest.mark.parametrize("device", DEVICE_NAMES)
@pytest.mark.parametrize("path", ["/protect", "/case"])
def test_leave_quickly(pages: Any, veil_server: Any, photos: list[Path], path: str,
                       device: str) -> None:
    neutral = veil_server.quick_exit_url
    assert neutral.startswith("http://127.0.0.1:")  # the test never leaves this machine
    ctx = pages.context(**DEVICES[device])
    requests: list[str] = []
    ctx.on("request", lambda r: requests.append(r.url))
    dialogs: list[str] = []
    page = ctx.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.type), d.dismiss()))
    page.goto(veil_server.base + "/protect")
    page.wait_for_selector("body[data-ready='true']", state="attached")
    entries = page.evaluate("() => history.length")
    # for someone in a hurry with a keyboard: the first thing after "skip to content"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.locator("#quick-exit")).to_be_focused()
    if path == "/protect":
        # in the middle of things: a code on screen, not yet marked as saved (the page
        # would ask "leave the page?" on any other way out)
        choose(page, [str(photos[77])], ready=1)
        submit(page)
    else:
        page.click(".top-links a")  # to /case: it takes the place of /protect
        page.wait_for_url("**/case?lang=en")
        page.wait_for_selector("body[data-ready='true']", state="attached")
        page.fill("#case-token", token_to_code(_case(veil_server, photos=1)))
        page.click("#lookup-button")
        expect(page.locator("#case-view")).to_be_visible()
    # by keyboard: back from where the person is
    tab_to(page, "#quick-exit", back=True)
    expect(page.locator("#quick-exit")).to_be_in_viewport()
    page.keyboard.press("Enter")
    page.wait_for_url(neutral)
    assert dialogs == []
    # the neutral page took Veil's place: the same number of entries, and Back does not
    # lead to any Veil page
    assert page.evaluate("() => history.length") == entries
    page.go_back()
    assert page.url == "about:blank", page.url
    assert all(u.startswith(("http://127.0.0.1:", "blob:http://127.0.0.1:", "data:"))
               for u in requests), requests


@pytest.mark.parametrize("device", DEVICE_NAMES)
def test_leave_quickly_stays_in_reach_while_scrolling(pages: Any, photos: list[Path],
                                                      device: str) -> None:
    page = _open(pages, "/protect", "en", device)
    choose(page, [str(p) for p in photos[78:81]], ready=3)
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    assert page.evaluate("() => window.scrollY") > 200
    box = _box(page, "#quick-exit")
    assert box["top"] >= 0 and box["bottom"] <= box["vh"] and box["onTop"], box


@pytest.mark.parametrize("path", ["/protect", "/case"])
@pytest.mark.parametrize("lang", LANGS)
def test_helplines_are_on_both_pages_in_every_language(pages: Any, lang: str,
                                                       path: str) -> None:
    text = catalog(lang)
    page = _open(pages, path, lang, "phone")
    support = page.locator("section.support")
    expect(support.locator("h2")).to_have_text(text["support.title"])
    items = page.locator("#helplines li")
    expect(items).to_have_count(len(HELPLINES))
    # as text, exactly as the operator wrote it: nothing in it became markup
    expect(page.locator("#helplines b, #helplines script")).to_have_count(0)
    for item, h in zip(items.all(), HELPLINES, strict=True):
        expect(item.locator(".helpline-name")).to_have_text(h["name"])
        if h.get("url"):
            expect(item.locator(".helpline-name a")).to_have_attribute(
                "href", str(Helpline(**h).url))
        expect(item.locator(".helpline-phone")).to_have_text(h["phone"])
        if h.get("note"):
            expect(item.locator(".helpline-note")).to_have_text(h["note"])
    expect(support).to_contain_text(text["support.exit_hint"])
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390


# -- a reviewer's decisions reach the person's case page ----------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_under_review_and_removed_show_and_under_review_can_still_be_withdrawn(
        pages: Any, veil_server: Any, lang: str) -> None:
    import subprocess
    import sys

    text = catalog(lang)
    token = _case(veil_server, photos=2)
    veil = str(Path(sys.executable).parent / "veil")
    admin = subprocess.run([veil, "keys", "create", "--scope", "admin"],
                           env=veil_server.env, capture_output=True, text=True, timeout=120,
                           check=True).stdout.strip()
    h = {"Authorization": f"Bearer {admin}"}
    view = httpx.get(veil_server.base + "/v1/cases/me", headers={"X-Case-Token": token}).json()
    assert [s["status"] for s in view["signals"]] == ["active"] * 4
    # the admin disputes photo 1's PDQ and removes photo 2's MD5
    ids = _entry_ids_of_case(veil_server, h, token)
    r = httpx.post(f"{veil_server.base}/v1/admin/entries/{ids[0]}/dispute", headers=h,
                   json={"reason": "reported"})
    assert r.status_code == 200, r.text
    r = httpx.post(f"{veil_server.base}/v1/admin/entries/{ids[3]}/withdraw", headers=h,
                   json={"reason": "source gone"})
    assert r.status_code == 200, r.text
    page = _open(pages, "/case", lang)
    page.fill("#case-token", token_to_code(token))
    page.click("#lookup-button")
    badges = page.locator(".signals .badge")
    expect(badges).to_have_count(4)
    expect(badges.nth(0)).to_have_text(text["case.status_under_review"])
    expect(badges.nth(3)).to_have_text(text["case.status_removed"])
    # photo 1 (under review) can still be withdrawn by its owner
    page.click("text=" + fill(text["case.withdraw_photo"], n=1))
    page.click("#confirm-yes")
    expect(page.locator("#case-status")).to_have_text(fill(text["case.withdrawn_photo"], n=1))
    expect(badges.nth(0)).to_have_text(text["case.status_withdrawn"])


def _entry_ids_of_case(server: Any, headers: dict[str, str], token: str) -> list[int]:
    """The entry ids of a case's signals, in order (the admin audit names them)."""
    case_id = httpx.get(server.base + "/v1/cases/me",
                        headers={"X-Case-Token": token}).json()["case_id"]
    events = httpx.get(server.base + "/v1/admin/audit?action=entry.add&limit=1000",
                       headers=headers).json()["events"]
    ids = sorted(e["entry_id"] for e in events if e["detail"].get("case_ref") == case_id)
    assert len(ids) == 4, events
    return ids
