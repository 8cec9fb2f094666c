"""Review items through the service: made by /v1/scan?review=1, by a review verdict and
by POST /v1/reports; listed and decided with a review key; and the reviewer page's
session (cookie from the key, CSRF), media, reveal and decisions, whose confirm
makes the same picture come back ``block``."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from api_support import jpeg, running
from fastapi.testclient import TestClient

from veil.api.services import Services
from veil.signals.batch import hash_bytes

Auth = Callable[[str], dict[str, str]]
FILE = {"Content-Type": "application/octet-stream"}


def scan(client: TestClient, auth: Auth, data: bytes, query: str = "") -> dict:  # type: ignore[type-arg]
    r = client.post("/v1/scan" + query, content=data, headers={**auth("platform"), **FILE})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def log_in(client: TestClient, key: str) -> str:
    """Log in to the reviewer page; returns the page's CSRF token."""
    r = client.post("/review/login", data={"key": key}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get("/review")
    assert page.status_code == 200 and 'data-page="review"' in page.text
    found = re.search(r'name="veil-csrf" content="([^"]+)"', page.text)
    assert found
    return found.group(1)


def test_scan_with_review_keeps_the_upload_for_review(client: TestClient, auth: Auth,
                                                      photo: bytes, services: Services) -> None:
    plain = scan(client, auth, photo)
    assert "review_item" not in plain and plain["decision"] == "allow"
    answer = scan(client, auth, photo, "?review=1")
    item = answer["review_item"]
    assert item["source"] == "review_request" and item["status"] == "open"
    assert 47 * 3600 < item["time_left_s"] <= 48 * 3600
    listed = client.get("/v1/review/items", headers=auth("review")).json()["items"]
    assert [i["id"] for i in listed] == [item["id"]]
    shown = client.get(f"/v1/review/items/{item['id']}", headers=auth("review")).json()
    assert shown["platform"] == "key:" + shown["platform"].split(":")[1] + ":test-platform"
    assert shown["reasons"] and shown["region"] is None and "signals" not in shown
    sealed = services.store.sealed_review_media(item["id"], actor="test")
    assert sealed is not None and photo[:64] not in sealed
    assert services.media_sealer.open(item["id"], sealed) == photo


def test_a_review_verdict_makes_an_item(client: TestClient, auth: Auth, photo: bytes,
                                        services: Services) -> None:
    pdq = hash_bytes(photo, services.settings.media, ("pdq",)).signals[0]
    services.store.create_bank("protected", "protected_photo", actor="test")
    services.store.add_entry("protected", "pdq", pdq.value, quality=pdq.quality, actor="test")
    answer = scan(client, auth, photo)
    assert answer["decision"] == "review"
    item = client.get(f"/v1/review/items/{answer['review_item']['id']}",
                      headers=auth("review")).json()
    assert item["source"] == "scan" and item["matches"][0]["bank"] == "protected"
    assert item["matches"][0]["distance"] == 0


def test_reports_make_items_multipart_or_raw(client: TestClient, auth: Auth,
                                             photo: bytes) -> None:
    r = client.post("/v1/reports", headers=auth("platform"),
                    files={"file": ("x.jpg", photo, "image/jpeg")},
                    data={"reason": "intimate image shared without consent",
                          "notes": "it is me <b>in</b> the photo"})
    assert r.status_code == 201, r.text
    item = client.get(f"/v1/review/items/{r.json()['review_item']['id']}",
                      headers=auth("review")).json()
    assert item["source"] == "report"
    assert item["report_reason"] == "intimate image shared without consent"
    assert item["report_notes"] == "it is me <b>in</b> the photo"
    r = client.post("/v1/reports?reason=fake", content=jpeg(3),
                    headers={**auth("platform"), **FILE})
    assert r.status_code == 201 and r.json()["review_item"]["source"] == "report"
    # only a platform reports; a review key cannot
    r = client.post("/v1/reports", content=jpeg(3), headers={**auth("review"), **FILE})
    assert r.status_code == 403
    # nothing to review in a file that is not media
    r = client.post("/v1/reports", content=b"not a picture", headers={**auth("platform"), **FILE})
    assert r.status_code in (415, 422), r.text


def test_a_full_queue_refuses_requests_but_still_answers_review_verdicts(
        veil_home: Path, api_env: None, keys: dict[str, str], photo: bytes,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEIL_REVIEW_MAX_QUEUE_BYTES", str(len(photo) + 10))
    with running() as (client, services):
        key = services.store.create_api_key(["platform"], name="p", actor="t")[1]
        headers = {"Authorization": f"Bearer {key}", **FILE}
        assert client.post("/v1/scan?review=1", content=photo, headers=headers).status_code == 200
        r = client.post("/v1/scan?review=1", content=photo, headers=headers)
        assert r.status_code == 507 and r.json()["error"]["code"] == "review.queue_full"
        r = client.post("/v1/reports", content=photo, headers=headers)
        assert r.status_code == 507
        pdq = hash_bytes(photo, services.settings.media, ("pdq",)).signals[0]
        services.store.create_bank("protected", "protected_photo", actor="test")
        services.store.add_entry("protected", "pdq", pdq.value, quality=pdq.quality,
                                 actor="test")
        r = client.post("/v1/scan", content=photo, headers=headers)
        assert r.status_code == 200 and r.json()["decision"] == "review"
        assert r.json()["review_item_error"]["code"] == "review.queue_full"


def test_the_review_routes_need_the_review_scope(client: TestClient, auth: Auth) -> None:
    for scope in ("platform", "admin", "intake"):
        r = client.get("/v1/review/items", headers=auth(scope))
        assert r.status_code == 403
    assert client.get("/v1/review/items").status_code == 401


def test_reviewer_page_session_cookie_and_csrf(client: TestClient, keys: dict[str, str],
                                               auth: Auth, photo: bytes,
                                               services: Services) -> None:
    login = client.get("/review")
    assert login.status_code == 200 and 'action="/review/login"' in login.text
    assert login.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in login.headers["content-security-policy"]
    # a key without the review scope, or none, is refused
    for key in (keys["platform"], "veil_made_up"):
        r = client.post("/review/login", data={"key": key}, follow_redirects=False)
        assert r.status_code == 401 and "veil_review" not in r.headers.get("set-cookie", "")
    # a log-in posted from another site is refused
    r = client.post("/review/login", data={"key": keys["review"]}, follow_redirects=False,
                    headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = client.post("/review/login", data={"key": keys["review"]}, follow_redirects=False,
                    headers={"Origin": "http://testserver"})
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Path=/review" in cookie and keys["review"] not in cookie
    csrf = log_in(client, keys["review"])
    # the page's calls need the CSRF token, then work
    r = client.post("/review/api/next")
    assert r.status_code == 403 and r.json()["error"]["code"] == "review.csrf"
    r = client.post("/review/api/next", headers={"X-CSRF-Token": csrf + "x"})
    assert r.status_code == 403
    r = client.post("/review/api/next", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["item"] is None
    # log-out ends the session on the server, whatever the browser keeps
    kept = dict(client.cookies)
    assert client.post("/review/logout").status_code == 403  # no CSRF token
    assert client.post("/review/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    client.cookies.update(kept)
    r = client.post("/review/api/next", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 401
    assert 'action="/review/login"' in client.get("/review").text
    actions = {e.action for e in services.store.audit()}
    assert "review.login" in actions
    # an API key is no substitute for a session
    client.cookies.clear()
    log_in(client, keys["review"])
    client.cookies.clear()
    r = client.post("/review/api/next", headers={**auth("review"), "X-CSRF-Token": csrf})
    assert r.status_code == 401 and r.json()["error"]["code"] == "review.session"


def test_reviewer_page_media_reveal_and_decisions(client: TestClient, keys: dict[str, str],
                                                  auth: Auth, photos: list[Path],
                                                  services: Services) -> None:
    first, second = photos[10].read_bytes(), photos[11].read_bytes()
    a = scan(client, auth, first, "?review=1")["review_item"]["id"]
    b = scan(client, auth, second, "?review=1")["review_item"]["id"]
    csrf = log_in(client, keys["review"])
    h = {"X-CSRF-Token": csrf}
    # media only for the item on the reviewer's screen
    assert client.get(f"/review/api/items/{a}/media").status_code == 409
    shown = client.post("/review/api/next", headers=h).json()["item"]
    assert shown["id"] == a
    media = client.get(f"/review/api/items/{a}/media")
    assert media.status_code == 200 and media.content == first
    assert media.headers["content-type"] == "image/jpeg"
    assert media.headers["cache-control"] == "no-store"
    assert client.get(f"/review/api/items/{b}/media").status_code == 409
    assert client.post(f"/review/api/items/{a}/reveal").status_code == 403  # no CSRF
    assert client.post(f"/review/api/items/{a}/reveal", headers=h).json()["reveal_s"] == 10
    reviewer = next(k for k in services.store.list_api_keys() if k.name == "test-review")
    reveals = services.store.audit(action="review.reveal")
    assert [(e.actor, e.detail["item"]) for e in reveals] == [
        (f"key:{reviewer.id}:test-review", a)]
    assert services.store.audit(action="review.media_view")

    r = client.post(f"/review/api/items/{a}/decision", headers=h,
                    json={"code": "confirmed_ncii", "note": "checked"})
    assert r.status_code == 200 and r.json()["status"] == "decided"
    # the same picture is blocked from the next scan on
    again = scan(client, auth, first)
    assert again["decision"] == "block"
    assert {m["bank"] for m in again["matches"]} >= {"review-confirmed"}

    shown = client.post("/review/api/next", headers=h).json()["item"]
    assert shown["id"] == b
    r = client.post(f"/review/api/items/{b}/decision", headers=h, json={"code": "not_ncii"})
    assert r.status_code == 200
    allow = services.store.list_entries(bank="review-allowlist")
    assert {e.source for e in allow} == {f"review:{b}"}
    assert "pdq" in {e.signal for e in allow}
    assert client.post("/review/api/next", headers=h).json() == {
        "item": None, "break": False, "waiting": 0}


def test_unclear_goes_to_another_reviewer_and_a_revoked_key_ends_the_session(
        services: Services, keys: dict[str, str], auth: Auth,
        photo: bytes, client: TestClient) -> None:
    item = scan(client, auth, photo, "?review=1")["review_item"]["id"]
    csrf = log_in(client, keys["review"])
    h = {"X-CSRF-Token": csrf}
    assert client.post("/review/api/next", headers=h).json()["item"]["id"] == item
    r = client.post(f"/review/api/items/{item}/decision", headers=h, json={"code": "unclear"})
    assert r.json()["status"] == "second_review"
    # not again for the same reviewer
    assert client.post("/review/api/next", headers=h).json()["item"] is None
    r = client.post(f"/v1/review/items/{item}/decision", headers=auth("review"),
                    json={"code": "not_ncii"})
    assert r.status_code == 409
    # another reviewer decides it
    r = client.post(f"/v1/review/items/{item}/decision", headers=auth("all"),
                    json={"code": "not_ncii"})
    assert r.status_code == 200 and r.json()["status"] == "decided"
    # a revoked key's session ends at once
    reviewer = next(k for k in services.store.list_api_keys() if k.name == "test-review")
    services.store.revoke_api_key(reviewer.id, actor="test")
    r = client.post("/review/api/next", headers=h)
    assert r.status_code == 401


def test_the_service_purges_media_past_its_deadline(veil_home: Path, api_env: None,
                                                    photo: bytes) -> None:
    from datetime import timedelta

    from veil.config import load_settings
    from veil.review.items import create_item
    from veil.review.sealing import load_sealer
    from veil.store import open_store
    from veil.store.coltypes import utcnow

    settings = load_settings()
    with open_store(settings) as store:
        old = create_item(store, load_sealer(settings), settings, source="report",
                          platform="key:1:p", data=photo, fmt="JPEG",
                          verdict={"decision": "allow"}, signals=[],
                          now=utcnow() - timedelta(days=8))
    with running(settings) as (_, services):  # the purge runs as the service starts
        for _ in range(100):
            if services.store.review_item(old.id).status == "purged":
                break
            time.sleep(0.05)
        assert services.store.review_item(old.id).status == "purged"
        assert services.store.sealed_review_media(old.id, actor="t") is None


def test_not_ncii_makes_the_same_picture_a_known_false_match(
        client: TestClient, auth: Auth, photo: bytes, services: Services) -> None:
    pdq = hash_bytes(photo, services.settings.media, ("pdq",)).signals[0]
    services.store.create_bank("protected", "protected_photo", actor="test")
    services.store.add_entry("protected", "pdq", pdq.value, quality=pdq.quality, actor="test")
    first = scan(client, auth, photo)
    assert first["decision"] == "review"
    r = client.post(f"/v1/review/items/{first['review_item']['id']}/decision",
                    headers=auth("review"), json={"code": "not_ncii"})
    assert r.status_code == 200, r.text
    again = scan(client, auth, photo)
    assert again["decision"] == "allow" and "review_item" not in again
