"""No platform key can rebuild banked hashes from distances: thresholds above the
configured maximum are refused (unless a key is listed for it), and matching runs on
worker threads, never on the event loop."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable

import numpy as np
import pytest
from api_support import running
from fastapi.testclient import TestClient
from PIL import Image

from veil.api.services import Services
from veil.config import load_settings
from veil.matching import BankMatcher
from veil.store import HashRow


def _one_bit(i: int) -> str:
    return f"{1 << (255 - i):064x}"


@pytest.fixture
def banked(services: Services) -> list[str]:
    rng = np.random.default_rng(5)
    values = [rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex() for _ in range(50)]
    services.store.create_bank("victims-x", "victim_submitted", actor="t")
    services.store.import_entries("victims-x", [HashRow("pdq", v) for v in values], actor="t")
    return values


def test_the_bit_recovery_attack_is_refused(client: TestClient, banked: list[str],
                                            auth: Callable[[str], dict[str, str]]) -> None:
    probes = [{"signal": "pdq", "value": "0" * 64}] + [
        {"signal": "pdq", "value": _one_bit(i)} for i in range(256)]
    for t in (256, 128, 32):
        r = client.post("/v1/match", headers=auth("platform"),
                        json={"signals": probes, "thresholds": {"pdq": t}})
        assert r.status_code == 422, (t, r.text)
        assert r.json()["error"]["code"] == "input.bad_threshold"
    # the configured threshold and tighter ones are fine (and find nothing here: the
    # probes are far from every banked hash)
    for t in (31, 10):
        r = client.post("/v1/match", headers=auth("platform"),
                        json={"signals": probes, "thresholds": {"pdq": t}})
        assert r.status_code == 200
        assert all(not x["matches"] for x in r.json()["results"])
    r = client.post("/v1/scan?threshold=200", headers={
        **auth("platform"), "content-type": "application/octet-stream"}, content=b"x")
    assert r.status_code == 422 and r.json()["error"]["code"] == "input.bad_threshold"


def test_wide_keys_and_a_configured_cap(api_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    services = Services(settings)
    analyst = services.store.create_api_key(["platform"], name="analyst", actor="t")
    platform = services.store.create_api_key(["platform"], name="acme", actor="t")[1]
    services.store.close()
    monkeypatch.setenv("VEIL_API_WIDE_THRESHOLD_KEYS", f"[{analyst[0].id}]")
    monkeypatch.setenv("VEIL_MAX_THRESHOLDS__PDQ", "20")
    with running() as (client, _):
        def ask(key: str, t: int) -> int:
            return client.post("/v1/match", headers={"Authorization": f"Bearer {key}"},
                               json={"signals": [{"signal": "pdq", "value": "0" * 64}],
                                     "thresholds": {"pdq": t}}).status_code
        assert ask(platform, 20) == 200 and ask(platform, 21) == 422
        assert ask(analyst[1], 200) == 200 and ask(analyst[1], 257) == 400


def test_matching_runs_on_worker_threads(client: TestClient, banked: list[str],
                                         auth: Callable[[str], dict[str, str]],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    search = BankMatcher.search

    def recording(self: BankMatcher, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return search(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(BankMatcher, "search", recording)
    r = client.post("/v1/match", headers=auth("platform"),
                    json={"signals": [{"signal": "pdq", "value": banked[0]}]})
    assert r.status_code == 200 and r.json()["results"][0]["decision"] == "block"
    assert threads and all(t.startswith("AnyIO worker thread") for t in threads), threads
    metrics = client.get("/metrics").text
    assert "veil_event_loop_lag_seconds_bucket" in metrics


def test_a_cluster_cannot_make_an_answer_huge(client: TestClient, services: Services,
                                              auth: Callable[[str], dict[str, str]],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    base = int("5a" * 32, 16)
    cluster = [f"{base ^ (1 << i):064x}" for i in range(256)]  # 256 entries, 1 bit apart
    services.store.create_bank("cluster", "imported", actor="t")
    services.store.import_entries("cluster", [HashRow("pdq", v) for v in cluster], actor="t")
    r = client.post("/v1/match", headers=auth("platform"),
                    json={"signals": [{"signal": "pdq", "value": "5a" * 32}] * 50})
    assert r.status_code == 200
    for result in r.json()["results"]:
        assert result["matches_total"] == 256 and len(result["matches"]) == 100
        assert result["decision"] == "review"
        assert [m["distance"] for m in result["matches"]] == [1] * 100  # the closest
    assert len(r.content) < 2_000_000


def test_a_scan_lists_the_closest_matches_too(client: TestClient, services: Services,
                                              auth: Callable[[str], dict[str, str]]) -> None:
    upload = io.BytesIO()
    blocks = np.random.default_rng(3).integers(0, 256, (12, 16), dtype=np.uint8)
    Image.fromarray(blocks).resize((320, 240), Image.Resampling.NEAREST).save(upload, "PNG")
    r = client.post("/v1/scan", headers={**auth("platform"), "Content-Type": "image/png"},
                    content=upload.getvalue())
    assert r.status_code == 200, r.text
    pdq = next(s["value"] for s in r.json()["signals"] if s["signal"] == "pdq")
    base = int(pdq, 16)
    services.store.create_bank("cluster", "imported", actor="t")
    services.store.import_entries(
        "cluster", [HashRow("pdq", f"{base ^ (1 << i):064x}") for i in range(140)], actor="t")
    r = client.post("/v1/scan", headers={**auth("platform"), "Content-Type": "image/png"},
                    content=upload.getvalue())
    body = r.json()
    assert body["decision"] == "review" and body["matches_total"] == 140
    assert len(body["matches"]) == 100 and len(body["reasons"]) == 100
