"""Webhooks through the service: admin routes (malformed input → 4xx JSON), events of
/v1/match and /v1/scan verdicts delivered signed to a loopback receiver, dead letters
listed and replayed, metrics."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from api_support import PDQ, near
from fastapi.testclient import TestClient
from sqlalchemy import text

from veil.api.services import Services
from veil.config import Settings, load_settings
from webhook_receiver import Receiver


@pytest.fixture
def settings(api_env: None, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # tiny delays: a test waits milliseconds for retries, not minutes
    for name, value in {"BASE_DELAY_S": "0.02", "MAX_DELAY_S": "0.05", "POLL_S": "0.05",
                        "TIMEOUT_S": "5", "MAX_ATTEMPTS": "3"}.items():
        monkeypatch.setenv(f"VEIL_WEBHOOK_{name}", value)
    return load_settings()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def banked(services: Services) -> None:
    services.store.create_bank("ncii", "confirmed_ncii", actor="t")
    services.store.create_bank("unsure", "imported", {"action": "review"}, actor="t")
    services.store.add_entry("ncii", "pdq", PDQ, actor="t", quality=100)


def platform_key_id(services: Services) -> int:
    return next(k.id for k in services.store.list_api_keys() if k.name == "test-platform")


def jpeg_auth(auth: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return {**auth("platform"), "content-type": "image/jpeg"}


def add(client: TestClient, auth: Callable[[str], dict[str, str]], receiver: Receiver,
        **target: object) -> str:
    r = client.post("/v1/admin/webhooks", headers=auth("admin"),
                    json={"name": "hook", "url": receiver.url, **target})
    assert r.status_code == 201, r.text
    secret: str = r.json()["secret"]
    receiver.secret = secret
    return secret


def test_a_webhook_is_added_listed_and_removed(
        client: TestClient, services: Services, auth: Callable[[str], dict[str, str]],
        banked: None, receiver: Receiver) -> None:
    secret = add(client, auth, receiver, bank="ncii")
    assert secret.startswith("whsec_") and len(secret) > 40
    listed = client.get("/v1/admin/webhooks", headers=auth("admin")).json()["webhooks"]
    assert [(w["name"], w["target"], w["bank"], w["key_id"]) for w in listed] == [
        ("hook", "bank", "ncii", None)]
    assert secret not in str(listed)
    with services.store.engine.connect() as conn:
        stored = conn.execute(text("SELECT secret_sealed FROM webhook_subscriptions")).scalar()
    assert secret not in stored and secret[6:] not in stored
    assert client.get("/v1/admin/webhooks", headers=auth("platform")).status_code == 403
    r = client.delete("/v1/admin/webhooks/hook", headers=auth("admin"))
    assert r.json() == {"name": "hook", "undelivered": 0}
    assert client.delete("/v1/admin/webhooks/hook", headers=auth("admin")).status_code == 404
    actions = [a.action for a in services.store.audit()]
    assert "webhook.create" in actions and "webhook.remove" in actions


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"url": "ftp://127.0.0.1/x", "bank": "ncii"}, 400, "webhook.bad_url"),
    ({"url": "file:///etc/passwd", "bank": "ncii"}, 400, "webhook.bad_url"),
    ({"url": "not a url", "bank": "ncii"}, 400, "webhook.bad_url"),
    ({"url": "http://u:p@127.0.0.1/", "bank": "ncii"}, 400, "webhook.bad_url"),
    ({"url": "http://127.0.0.1/", "bank": "no-such-bank"}, 404, "not_found"),
    ({"url": "http://127.0.0.1/", "key_id": 4242}, 404, "not_found"),
    ({"url": "http://127.0.0.1/", "key_id": 1, "bank": "ncii"}, 400, "input.invalid"),
    ({"url": "http://127.0.0.1/"}, 400, "input.invalid"),
    ({"url": "http://127.0.0.1/", "bank": "ncii", "secret": "mine"}, 422, "input.invalid"),
    ({"url": "http://127.0.0.1/", "bank": "../x"}, 422, "input.invalid"),
    ({"url": "", "bank": "ncii"}, 422, "input.invalid"),
    ({"url": "http://127.0.0.1/", "key_id": -1}, 422, "input.invalid"),
])
def test_malformed_webhooks_are_refused(
        client: TestClient, auth: Callable[[str], dict[str, str]], banked: None,
        body: dict[str, object], status: int, code: str) -> None:
    r = client.post("/v1/admin/webhooks", headers=auth("admin"), json={"name": "h", **body})
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert client.get("/v1/admin/webhooks", headers=auth("admin")).json()["webhooks"] == []


def test_a_duplicate_name_conflicts(client: TestClient, auth: Callable[[str], dict[str, str]],
                                    banked: None, receiver: Receiver) -> None:
    add(client, auth, receiver, bank="ncii")
    r = client.post("/v1/admin/webhooks", headers=auth("admin"),
                    json={"name": "hook", "url": receiver.url, "bank": "ncii"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"


def test_match_verdicts_reach_the_key_follower_signed(
        client: TestClient, services: Services, auth: Callable[[str], dict[str, str]],
        banked: None, receiver: Receiver) -> None:
    add(client, auth, receiver, key_id=platform_key_id(services))
    allowed = client.post("/v1/match", headers=auth("platform"), json={
        "signals": [{"signal": "pdq", "value": near(PDQ, 128)}], "subject": "post-0"})
    assert allowed.json()["results"][0]["decision"] == "allow"
    blocked = client.post("/v1/match", headers=auth("platform"), json={
        "signals": [{"signal": "pdq", "value": near(PDQ, 128)},
                    {"signal": "pdq", "value": near(PDQ, 3)}], "subject": "post-1"})
    assert blocked.json()["results"][1]["decision"] == "block"
    [event] = receiver.wait_processed(1)
    assert event["type"] == "match.verdict" and event["subject"] == "post-1"
    data = event["data"]
    assert data["request_id"] == blocked.headers["Veil-Request-Id"]
    assert data["key"] == {"id": platform_key_id(services), "name": "test-platform"}
    assert data["queries"] == 2
    assert [r["index"] for r in data["results"]] == [1]  # the allow is not announced
    assert data["results"][0] == blocked.json()["results"][1]
    # never a banked hash, nor the queried one
    assert PDQ not in str(event) and near(PDQ, 3) not in str(event)
    assert all(r["signed"] for r in receiver.requests) and len(receiver.requests) == 1
    # another key's verdicts are not this webhook's
    client.post("/v1/match", headers=auth("all"),
                json={"signals": [{"signal": "pdq", "value": PDQ}]})
    time.sleep(0.3)
    assert len(receiver.processed) == 1
    text_ = client.get("/metrics").text
    assert 'veil_webhook_deliveries_total{outcome="delivered"} 1.0' in text_
    assert 'veil_webhook_events_total{event="match.verdict"} 1.0' in text_


def test_scan_verdicts_reach_the_bank_follower(
        client: TestClient, services: Services, auth: Callable[[str], dict[str, str]],
        receiver: Receiver, photo: bytes) -> None:
    scanned = client.post("/v1/scan", headers=jpeg_auth(auth), content=photo,
                          params={"subject": "upload-7"})
    pdq = next(s["value"] for s in scanned.json()["signals"] if s["signal"] == "pdq")
    services.store.create_bank("unsure", "imported", {"action": "review"}, actor="t")
    services.store.add_entry("unsure", "pdq", pdq, actor="t", quality=100)
    add(client, auth, receiver, bank="unsure")
    r = client.post("/v1/scan", headers=jpeg_auth(auth), content=photo,
                    params={"subject": "upload-7"})
    assert r.json()["decision"] == "review"
    [event] = receiver.wait_processed(1)
    assert event["type"] == "scan.verdict" and event["subject"] == "upload-7"
    verdict = event["data"]["verdict"]
    assert verdict["decision"] == "review" and verdict["reasons"] == r.json()["reasons"]
    assert verdict["matches"] == r.json()["matches"]
    assert event["data"]["request_id"] == r.headers["Veil-Request-Id"]
    assert pdq not in str(event) and "signals" not in event["data"]
    # a subject is one line of at most 200 characters
    for bad in ("x" * 201, "a\nb"):
        refused = client.post("/v1/scan", headers=jpeg_auth(auth), content=photo,
                              params={"subject": bad})
        assert refused.status_code == 422


def test_failed_deliveries_become_dead_letters_an_admin_replays(
        client: TestClient, services: Services, auth: Callable[[str], dict[str, str]],
        banked: None, receiver: Receiver) -> None:
    add(client, auth, receiver, bank="ncii")
    receiver.fail_next = 3  # every try (VEIL_WEBHOOK_MAX_ATTEMPTS=3)
    client.post("/v1/match", headers=auth("platform"),
                json={"signals": [{"signal": "pdq", "value": PDQ}], "subject": "s"})
    deadline = time.monotonic() + 10
    while not (dead := client.get("/v1/admin/webhook-dead-letters",
                                  headers=auth("admin")).json()["deliveries"]):
        assert time.monotonic() < deadline, receiver.requests
        time.sleep(0.05)
    [letter] = dead
    assert (letter["webhook"], letter["event"], letter["subject"], letter["attempts"],
            letter["last_error"]) == ("hook", "match.verdict", "s", 3, "HTTP 503")
    assert [r["attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert 'veil_webhook_deliveries_total{outcome="dead"} 1.0' in client.get("/metrics").text
    bad = client.post("/v1/admin/webhook-dead-letters/replay", headers=auth("admin"),
                      json={"delivery_ids": ["nope"]})
    assert bad.status_code == 404 and bad.json()["error"]["code"] == "not_found"
    assert client.post("/v1/admin/webhook-dead-letters/replay", headers=auth("admin"),
                       json={"delivery_ids": "x"}).status_code == 422
    r = client.post("/v1/admin/webhook-dead-letters/replay", headers=auth("admin"),
                    json={"delivery_ids": [letter["delivery_id"]]})
    assert r.json() == {"replayed": 1}
    [event] = receiver.wait_processed(1)
    assert event["delivery_id"] == letter["delivery_id"]
    assert client.get("/v1/admin/webhook-dead-letters",
                      headers=auth("admin")).json()["deliveries"] == []
    hooks = client.get("/v1/admin/webhooks", headers=auth("admin")).json()["webhooks"]
    assert hooks[0]["deliveries"] == {"pending": 0, "delivered": 1, "dead": 0}
