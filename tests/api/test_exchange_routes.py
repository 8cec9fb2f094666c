"""Admin routes of the exchanges this node pulls from: add, list, status, rejects,
sync now; the service's own sync loop pulls the list; bad input is a 4xx with a
reason; no secret is ever taken or shown."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from exchange_partner import record, running_partner
from veil.api.services import Services
from veil.config import Settings, load_settings


@pytest.fixture
def settings(api_env: None, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("VEIL_EXCHANGE_SYNC_S", "0.2")
    monkeypatch.setenv("VEIL_EXCHANGE_BASE_DELAY_S", "0")
    monkeypatch.setenv("PEER_KEYS", "fetch-key,sub-key")
    return load_settings()


def wait_for(check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_exchange_added_through_the_api_is_pulled_by_the_service(
        client: TestClient, services: Services, auth: Callable[[str], dict[str, str]]) -> None:
    with running_partner() as partner:
        value = hashlib.sha256(b"api-exchange").hexdigest()
        partner.records = [record(value), record("bad")]
        r = client.post("/v1/admin/exchanges", headers=auth("admin"), json={
            "name": "hub", "kind": "stopncii", "url": partner.url, "bank": "hub-list",
            "credentials": "env:PEER_KEYS"})
        assert r.status_code == 201, r.text
        assert r.json()["credentials"] == "env:PEER_KEYS"

        def synced() -> bool:
            out = client.get("/v1/admin/exchanges/hub", headers=auth("admin")).json()
            return out["entries"] == 1 and out["last_success"] is not None

        wait_for(synced)
        # matchable through the live index
        m = client.post("/v1/match", headers=auth("platform"),
                        json={"signals": [{"signal": "pdq", "value": value}]})
        assert m.status_code == 200, m.text
        result = m.json()["results"][0]
        assert result["matches"] and result["decision"] == "review"  # imported's default

        listed = client.get("/v1/admin/exchanges", headers=auth("admin")).json()["exchanges"]
        assert [x["name"] for x in listed] == ["hub"] and listed[0]["counts"]["rejected"] >= 1
        rejects = client.get("/v1/admin/exchanges/hub/rejects", headers=auth("admin")).json()
        assert "bad pdq hash" in rejects["rejects"][0]["reason"]
        assert client.post("/v1/admin/exchanges/hub/sync",
                           headers=auth("admin")).status_code == 202
        # counted when the sync reports, just after it commits what synced() reads
        wait_for(lambda: 'veil_exchange_syncs_total{exchange="hub",result="ok"}'
                 in client.get("/metrics").text)


@pytest.mark.parametrize("body,code", [
    ({"name": "x", "kind": "ftp", "url": "http://127.0.0.1:9", "bank": "b"}, 422),
    ({"name": "x", "kind": "veil", "url": "http://127.0.0.1:9", "bank": "b",
      "credentials": "veil_actual_secret"}, 400),
    ({"name": "x", "kind": "veil", "url": "gopher://x", "bank": "b"}, 400),
    ({"name": "../x", "kind": "veil", "url": "http://127.0.0.1:9", "bank": "b"}, 422),
])
def test_bad_exchanges_are_refused(client: TestClient, auth: Callable[[str], dict[str, str]],
                                   body: dict[str, str], code: int) -> None:
    r = client.post("/v1/admin/exchanges", headers=auth("admin"), json=body)
    assert r.status_code == code, r.text
    assert r.json()["error"]["message"]


def test_exchange_routes_need_the_admin_scope(client: TestClient,
                                              auth: Callable[[str], dict[str, str]]) -> None:
    assert client.get("/v1/admin/exchanges", headers=auth("platform")).status_code == 403
    assert client.get("/v1/admin/exchanges/none", headers=auth("admin")).status_code == 404


def test_the_service_keeps_answering_while_a_partner_stalls(
        client: TestClient, services: Services,
        auth: Callable[[str], dict[str, str]]) -> None:
    with running_partner() as partner:
        partner.stall_s = 3.0
        partner.faults = ["stall"] * 20
        services.store.add_exchange("slow", kind="stopncii", url=partner.url,
                                    bank="slow-list", credentials="env:PEER_KEYS",
                                    actor="t")
        services.exchanges.wake()
        wait_for(lambda: bool(partner.requests))  # a sync is waiting on the partner
        started = time.monotonic()
        for _ in range(5):
            r = client.post("/v1/match", headers=auth("platform"),
                            json={"signals": [{"signal": "pdq", "value": "ab" * 32}]})
            assert r.status_code == 200
            assert client.get("/healthz").status_code == 200
        assert time.monotonic() - started < 2.5  # never behind the stalled fetch
        assert services.store.get_exchange("slow").last_success_at is None
