"""Operations: health, readiness while the index loads, metrics, JSON logs."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

import pytest
from api_support import ATTEST, PDQ
from fastapi.testclient import TestClient

from veil.api import create_app
from veil.api.logs import JsonFormatter
from veil.api.services import Services
from veil.config import Settings
from veil.matching import BankMatcher, MatchSource, load_matcher


def test_ready_only_once_the_index_is_loaded(settings: Settings) -> None:
    gate = threading.Event()

    def slow_loader(s: Settings, source: MatchSource) -> BankMatcher:
        gate.wait(10)
        return load_matcher(s, source)

    services = Services(settings, loader=slow_loader)
    key = services.store.create_api_key(["platform"], actor="t")[1]
    services.start(background=True)
    try:
        with TestClient(create_app(settings, services=services)) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            r = client.get("/readyz")
            assert r.status_code == 503 and r.json()["error"]["code"] == "service.not_ready"
            assert r.headers["retry-after"]
            r = client.post("/v1/match", headers={"Authorization": f"Bearer {key}"},
                            json={"signals": [{"signal": "pdq", "value": PDQ}]})
            assert r.status_code == 503
            # a case submitted while loading is queued, and matches once loaded
            r = client.post("/v1/cases", json={
                "signals": [{"signal": "pdq", "value": PDQ, "quality": 80}],
                "attestation": ATTEST})
            assert r.status_code == 201
            gate.set()
            services._loader.join(10)  # type: ignore[union-attr]
            assert client.get("/readyz").json() == {"status": "ready", "index": {
                "pdq": 1, "md5": 0, "sha256": 0, "phash": 0, "dhash": 0, "vpdq": 0,
                "region": 0}}
            r = client.post("/v1/match", headers={"Authorization": f"Bearer {key}"},
                            json={"signals": [{"signal": "pdq", "value": PDQ}]})
            assert r.json()["results"][0]["decision"] == "block"
    finally:
        gate.set()
        services.stop()


def test_metrics(client: TestClient, auth: Callable[[str], dict[str, str]]) -> None:
    client.post("/v1/cases", json={"signals": [{"signal": "pdq", "value": PDQ, "quality": 80}],
                                   "attestation": ATTEST})
    client.post("/v1/match", headers=auth("platform"),
                json={"signals": [{"signal": "pdq", "value": PDQ}]})
    text = client.get("/metrics").text
    assert 'veil_index_entries{signal="pdq"} 1.0' in text
    assert 'veil_matches_total{bank="victims",signal="pdq"} 1.0' in text
    assert 'veil_http_request_duration_seconds_count{method="POST",route="/v1/match",' \
           'status="200"} 1.0' in text
    assert "veil_index_ready 1.0" in text
    age = next(float(line.split()[1]) for line in text.splitlines()
               if line.startswith("veil_index_sync_age_seconds "))
    assert 0 <= age < 60  # the case above was caught up through the feed


def test_logs_are_json_without_secrets(client: TestClient, caplog: pytest.LogCaptureFixture,
                                       auth: Callable[[str], dict[str, str]],
                                       keys: dict[str, str]) -> None:
    with caplog.at_level(logging.DEBUG):
        r = client.post("/v1/cases", json={
            "signals": [{"signal": "pdq", "value": PDQ, "quality": 80}], "attestation": ATTEST})
        token = r.json()["case_token"]
        client.get("/v1/cases/me", headers={"X-Case-Token": token})
        client.post("/v1/match", headers=auth("platform"),
                    json={"signals": [{"signal": "pdq", "value": PDQ}]})
    fmt = JsonFormatter()
    lines = [fmt.format(rec) for rec in caplog.records]
    access = [json.loads(x) for x in lines if '"veil.api.access"' in x]
    assert {a["route"] for a in access} >= {"/v1/cases", "/v1/cases/me", "/v1/match"}
    assert all(set(a) >= {"ts", "level", "method", "route", "status", "ms"} for a in access)
    everything = "\n".join(lines)
    for secret in (token, PDQ, keys["platform"]):
        assert secret not in everything


def test_a_write_stays_committed_when_the_index_cannot_catch_up(
        client: TestClient, auth: Callable[[str], dict[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from veil.errors import StoreError

    services = client.app.state.services  # type: ignore[attr-defined]

    def broken(*_: object, **__: object) -> None:
        raise StoreError("database unavailable", code="store.unavailable")

    monkeypatch.setattr(BankMatcher, "catch_up", broken)
    r = client.post("/v1/cases", json={
        "signals": [{"signal": "pdq", "value": PDQ, "quality": 80}], "attestation": ATTEST})
    assert r.status_code == 201  # committed: the client must not resubmit
    assert "database unavailable" in (services.live.sync_error or "")
    monkeypatch.undo()
    services.live.sync()  # what the poller does next
    r = client.post("/v1/match", headers=auth("platform"),
                    json={"signals": [{"signal": "pdq", "value": PDQ}]})
    assert r.json()["results"][0]["decision"] == "block"
    assert services.live.sync_error is None
