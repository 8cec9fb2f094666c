"""POST /v1/text/check: platform keys only; bounded requests (count, length, JSON
types) refused with a reason; texts answered in order and never logged or stored."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from api_support import running
from fastapi.testclient import TestClient

from veil.api.schemas import MAX_TEXT_REQUEST_CHARS, MAX_TEXTS
from veil.text.detector import MAX_CHARS

ADVERT = "Undrеss any photo in seconds, 3 free tries: t.me/Quick_Undress_Bot"
NEWS = "Police arrested the owner of a bot that undressed photos of schoolgirls"
Auth = Callable[[str], dict[str, str]]


def test_texts_are_answered_in_order(client: TestClient, auth: Auth) -> None:
    r = client.post("/v1/text/check", json={"texts": [NEWS, ADVERT, ""]},
                    headers=auth("platform"))
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["index"] for x in results] == [0, 1, 2]
    assert [x["nudify_service"] for x in results] == [False, True, False]
    assert {"kind": "link", "text": "t.me/Quick_Undress_Bot"} in results[1]["evidence"]
    metrics = client.get("/metrics").text
    assert 'veil_text_checks_total{result="flagged"} 1.0' in metrics
    assert 'veil_text_checks_total{result="clean"} 2.0' in metrics


@pytest.mark.parametrize(("scope", "status"), [("review", 403), ("admin", 403),
                                               ("intake", 403), (None, 401)])
def test_only_platform_keys(client: TestClient, auth: Auth, scope: str | None,
                            status: int) -> None:
    headers = auth(scope) if scope else {}
    r = client.post("/v1/text/check", json={"texts": [ADVERT]}, headers=headers)
    assert r.status_code == status


@pytest.mark.parametrize("body", [
    {"texts": []},
    {"texts": ["x"] * (MAX_TEXTS + 1)},
    {"texts": ["x" * (MAX_CHARS + 1)]},
    {"texts": ["x" * MAX_CHARS] * (MAX_TEXT_REQUEST_CHARS // MAX_CHARS + 1)},
    {"texts": [1]},
    {"texts": [None]},
    {"texts": "one string, not a list"},
    {"text": "x"},
    {"texts": ["x"], "extra": True},
])
def test_bad_requests_are_422_with_a_reason(client: TestClient, auth: Auth,
                                            body: object) -> None:
    r = client.post("/v1/text/check", json=body, headers=auth("platform"))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"]


def test_the_largest_request_allowed_is_answered(client: TestClient, auth: Auth) -> None:
    texts = ["👗" * MAX_CHARS] * (MAX_TEXT_REQUEST_CHARS // MAX_CHARS)  # worst case
    r = client.post("/v1/text/check", json={"texts": texts}, headers=auth("platform"))
    assert r.status_code == 200 and len(r.json()["results"]) == len(texts)


def test_a_lone_surrogate_is_a_422_not_a_500(client: TestClient, auth: Auth) -> None:
    raw = b'{"texts": ["undress \\ud800 bot"]}'
    r = client.post("/v1/text/check", content=raw, headers={
        **auth("platform"), "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert "texts.0" in r.json()["error"]["message"]


def test_texts_are_neither_logged_nor_stored(client: TestClient, auth: Auth,
                                             caplog: pytest.LogCaptureFixture,
                                             veil_home: Path) -> None:
    marker = "Zqxwvy7 undress any photo t.me/MarkerTextBot"
    with caplog.at_level(logging.DEBUG):
        r = client.post("/v1/text/check", json={"texts": [marker]},
                        headers=auth("platform"))
    assert r.status_code == 200
    assert "Zqxwvy7" not in caplog.text and "MarkerTextBot" not in caplog.text
    for f in veil_home.rglob("*"):
        if f.is_file():
            assert b"Zqxwvy7" not in f.read_bytes(), f


def test_the_configured_threshold_decides(monkeypatch: pytest.MonkeyPatch,
                                          api_env: None) -> None:
    monkeypatch.setenv("VEIL_TEXT_THRESHOLD", "0.0001")
    with running() as (c, svc):
        key = svc.store.create_api_key(["platform"], name="p", actor="t")[1]
        r = c.post("/v1/text/check", json={"texts": [NEWS]},
                   headers={"Authorization": f"Bearer {key}"})
    assert r.json()["results"][0]["nudify_service"] is True
